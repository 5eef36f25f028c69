"""The retraining trigger in-process: decisions, runs, restarts, authentication, schedules and new data."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from starlette.testclient import TestClient

from mlops_dsl.contracts.retraining import RunRequest
from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.runtime.retraining.alertmanager import Notification, signature
from mlops_dsl.runtime.retraining.backends import KubernetesJobBackend, LocalProcessBackend
from mlops_dsl.runtime.retraining.service import RetrainingTrigger, create_app
from mlops_dsl.runtime.retraining.store import StoreError, TriggerStore
from tests.helpers import asgi
from tests.helpers.churn import SPEC
from tests.helpers.processes import wait_until

STANDIN = Path(__file__).parent / "helpers" / "standin_trainer.py"
SECRET = "s3cret-token"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def platform(overrides: dict[str, Any]) -> Any:
    return load_platform(SPEC, environment="local", stack=StackOverrides(overrides, "test"))["local"].platform


def notification(
    alertname: str = "churn-feature-drift", model: str = "churn", status: str = "firing", fingerprint: str = "f1"
) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": alertname, "model": model, "severity": "warning"},
        "annotations": {},
        "startsAt": "2026-11-24T11:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
        "generatorURL": "http://prometheus/graph",
    }
    return {
        "version": "4",
        "status": status,
        "receiver": "retrain",
        "groupKey": '{}:{alertname="x"}',
        "truncatedAlerts": 0,
        "groupLabels": {},
        "commonLabels": alert["labels"],
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [alert],
    }


class Setup:
    def __init__(self, tmp: Path, seconds: float = 30.0, overrides: dict[str, Any] | None = None) -> None:
        self.tmp = tmp
        self.clock = Clock()
        self.store = TriggerStore(tmp / "trigger.db")
        self.backend = LocalProcessBackend([sys.executable, str(STANDIN), str(seconds), "{result}", "{reason}"], tmp / "runs")
        self.trigger = RetrainingTrigger(platform(overrides or {}), self.store, self.backend, clock=self.clock, data_root=tmp / "data")

    def started(self) -> list[str]:
        ledger = self.tmp / "runs" / "runs.log"
        return ledger.read_text().splitlines() if ledger.exists() else []

    def stop_runs(self) -> None:
        for child in self.backend._children.values():
            child.kill()
            child.wait()


@pytest.fixture
def setup(tmp_path: Path) -> Any:
    created = Setup(tmp_path)
    yield created
    created.stop_runs()


def test_an_alert_starts_exactly_one_run_and_a_storm_starts_none(setup: Setup) -> None:
    first = setup.trigger.handle_notification(Notification.model_validate(notification()))
    assert [d["kind"] for d in first] == ["started"]
    for _ in range(100):
        setup.clock.advance(seconds=1)
        assert setup.trigger.handle_notification(Notification.model_validate(notification()))[0]["action"] == "skip"
    wait_until(lambda: len(setup.started()) == 1, 20, "the run to start")
    runs = setup.store.runs()
    assert len(runs) == 1 and runs[0].status == "running"
    assert runs[0].reason.startswith("alert:churn-feature-drift") and setup.started() == [runs[0].reason]
    # The local environment's window is 1m: the repeats in its first minute are duplicates; at 60s the
    # window reopens and the running run holds that one back (concurrency); the rest are duplicates again.
    assert setup.store.decision_counts() == {("churn", "started"): 1, ("churn", "duplicate"): 99, ("churn", "concurrency"): 1}


def test_a_different_trigger_while_a_run_goes_is_held_by_concurrency(setup: Setup) -> None:
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    decision = setup.trigger.handle_notification(Notification.model_validate(notification("churn-quality")))[0]
    assert decision["kind"] == "concurrency"
    assert decision["reason"] == "max concurrent runs reached: 1 run going, at most 1 allowed"


def test_the_cooldown_holds_after_a_run_ends(tmp_path: Path) -> None:
    setup = Setup(tmp_path, seconds=0.2)
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    wait_until(lambda: (setup.trigger.reconcile() or True) and setup.store.runs()[0].status == "succeeded", 20, "the run to finish")
    assert setup.store.runs()[0].outcome == "promoted"
    setup.clock.advance(seconds=90)  # past the 1m de-duplication window, inside the 2m cooldown
    held = setup.trigger.handle_notification(Notification.model_validate(notification()))[0]
    assert held["kind"] == "cooldown" and "within the 2m cooldown" in held["reason"]
    setup.clock.advance(seconds=40)  # past the cooldown, but within a minute of the held-back notification
    assert setup.trigger.handle_notification(Notification.model_validate(notification()))[0]["kind"] == "duplicate"
    setup.clock.advance(seconds=21)  # past both
    assert setup.trigger.handle_notification(Notification.model_validate(notification()))[0]["kind"] == "started"
    setup.stop_runs()


def test_alerts_that_are_not_triggers_are_recorded_and_ignored(setup: Setup) -> None:
    decisions = setup.trigger.handle_notification(
        Notification.model_validate(
            {
                **notification(),
                "alerts": [
                    notification("churn-latency-p99")["alerts"][0],
                    notification(model="fraud")["alerts"][0],
                    notification(status="resolved")["alerts"][0],
                ],
            }
        )
    )
    assert [d["kind"] for d in decisions] == ["ignored"] * 3
    assert "not a retraining trigger of model churn" in decisions[0]["reason"]
    assert "model label 'fraud'" in decisions[1]["reason"]
    assert "is resolved" in decisions[2]["reason"]
    assert setup.store.runs() == []


def test_a_restart_does_not_start_a_run_in_progress_twice(setup: Setup) -> None:
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    wait_until(lambda: len(setup.started()) == 1, 20, "the run to start")
    # A new trigger process: fresh objects over the same state file, no memory of its children.
    restarted = RetrainingTrigger(
        setup.trigger.platform,
        TriggerStore(setup.tmp / "trigger.db"),
        LocalProcessBackend(setup.backend.command, setup.tmp / "runs"),
        clock=setup.clock,
    )
    assert restarted.reconcile() == []  # still running, found by its pid
    setup.clock.advance(minutes=5)  # past de-duplication and cooldown: only the running run holds it back
    assert restarted.handle_notification(Notification.model_validate(notification()))[0]["kind"] == "concurrency"
    assert len(setup.started()) == 1


def test_a_run_that_dies_without_a_result_is_failed(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    wait_until(lambda: len(setup.started()) == 1, 20, "the run to start")
    setup.stop_runs()
    setup.trigger.reconcile()
    run = setup.store.runs()[0]
    assert (run.status, run.outcome) == ("failed", "error") and "without a result" in (run.detail or "")


def test_new_data_under_a_source_triggers_a_run(setup: Setup) -> None:
    folder = setup.tmp / "data" / "raw" / "churn_labels"
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"customer_id": range(600), "event_timestamp": pd.Timestamp("2026-11-24", tz="UTC"), "churned": 0})
    frame.to_parquet(folder / "part-old.parquet")
    assert setup.trigger.check_new_data() == []  # what is there at start is not new
    frame.iloc[:100].to_parquet(folder / "part-small.parquet")
    assert setup.trigger.check_new_data() == []  # 100 new rows, fewer than min_new_rows 500
    frame.to_parquet(folder / "part-new.parquet")
    [decision] = setup.trigger.check_new_data()
    assert decision["kind"] == "started" and decision["trigger"] == "new_data:churn_labels"
    assert "700 new rows in 2 file(s)" in setup.store.runs()[0].reason


def test_a_schedule_trigger_fires_when_due(tmp_path: Path) -> None:
    setup = Setup(
        tmp_path,
        overrides={"models.churn.retraining.triggers": [{"kind": "schedule", "cron": "0 * * * *"}], "models.churn.training.schedule": None},
    )
    assert setup.trigger.check_schedules() == []  # the first look only remembers the time
    setup.clock.advance(minutes=30)
    assert setup.trigger.check_schedules() == []  # 12:30, next tick 13:00
    setup.clock.advance(minutes=31)
    [decision] = setup.trigger.check_schedules()
    assert decision["kind"] == "started" and decision["trigger"] == "schedule"
    setup.stop_runs()


def test_a_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "trigger.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"trigger\.db: the trigger's state file is not usable"):
        TriggerStore(tmp_path / "trigger.db")


# --- the HTTP webhook -------------------------------------------------------------------------


def client_for(setup: Setup, auth: str = "bearer") -> TestClient:
    return TestClient(create_app(setup.trigger, auth=auth, secret=SECRET, interval=3600))  # type: ignore[arg-type]


def test_the_webhook_refuses_requests_without_the_bearer_token(setup: Setup) -> None:
    with client_for(setup) as client:
        assert client.post("/alerts", json=notification()).status_code == 401
        assert client.post("/alerts", json=notification(), headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/runs").status_code == 401
        ok = client.post("/alerts", json=notification(), headers={"Authorization": f"Bearer {SECRET}"})
        assert ok.status_code == 200 and ok.json()["decisions"][0]["kind"] == "started"
        assert client.get("/healthz").status_code == 200 and "mlops_retraining_decisions_total" in client.get("/metrics").text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "not valid JSON"),
        (orjson.dumps({**notification(), "version": "3"}), "version"),
        (orjson.dumps({**notification(), "alerts": []}), "alerts"),
        (
            orjson.dumps(
                {**notification(), "alerts": [{"status": "firing", "labels": {"model": "churn"}, "startsAt": "2026-11-24T11:59:00Z"}]}
            ),
            "alertname",
        ),
        (orjson.dumps({**notification(), "alerts": [{**notification()["alerts"][0], "startsAt": "yesterday"}]}), "startsAt"),
    ],
)
def test_malformed_notifications_are_400_with_the_reason(setup: Setup, body: bytes, message: str) -> None:
    with client_for(setup) as client:
        response = client.post("/alerts", content=body, headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 400 and message in response.json()["error"]
    assert setup.store.runs() == []


def test_hmac_signed_notifications(setup: Setup) -> None:
    body = orjson.dumps(notification())
    with client_for(setup, auth="hmac") as client:
        assert client.post("/alerts", content=body, headers={"X-Signature": "sha256=00"}).status_code == 401
        assert client.post("/alerts", content=body, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 401
        response = client.post("/alerts", content=body, headers={"X-Signature": signature(SECRET, body)})
    assert response.status_code == 200 and response.json()["decisions"][0]["kind"] == "started"


def test_a_manual_run_through_the_api(setup: Setup) -> None:
    with client_for(setup) as client:
        response = client.post("/runs", json={"model": "churn", "reason": "new feature"}, headers={"Authorization": f"Bearer {SECRET}"})
        assert response.json()["kind"] == "started"
        runs = client.get("/runs", headers={"Authorization": f"Bearer {SECRET}"}).json()["runs"]
        assert client.post("/runs", json={"model": "nope"}, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 404
    assert runs[0]["reason"] == "manual (new feature)"


# --- the other backends ---------------------------------------------------------------------


class RecordingBatchApi:
    """Stands in for the Kubernetes API: records the Jobs it is asked to create."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_namespaced_job(self, namespace: str, body: dict[str, Any]) -> None:
        self.created.append({"namespace": namespace, "body": body})


def test_the_kubernetes_backend_instantiates_the_job_template_with_the_reason() -> None:
    template: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "template", "namespace": "churn-dev"},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "train", "image": "img", "args": ["train"]}]}},
        },
    }
    api = RecordingBatchApi()
    backend = KubernetesJobBackend("churn-dev", {"churn": template}, api=api)
    reference = backend.start(RunRequest("churn-20261124-120000-abcdef", "churn", "alert:churn-feature-drift (fired 11:59)"))
    [call] = api.created
    job = call["body"]
    assert call["namespace"] == "churn-dev" and reference == f"job:{job['metadata']['name']}"
    assert job["metadata"]["name"] == "churn-train-261124-120000-abcdef" and len(job["metadata"]["name"]) <= 63
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLOPS_TRIGGER_REASON"] == "alert:churn-feature-drift (fired 11:59)"
    assert env["MLOPS_MODEL"] == "churn"
    assert template["metadata"]["name"] == "template"  # the template itself is left alone


def test_the_local_backend_passes_the_reason_and_reports_the_result(tmp_path: Path) -> None:
    backend = LocalProcessBackend([sys.executable, str(STANDIN), "0", "{result}", "{reason}"], tmp_path / "runs")
    reference = backend.start(RunRequest("r1", "churn", "schedule (0 3 * * 1)"))
    wait_until(lambda: backend.status("r1", reference).state != "running", 20, "the run to end")
    state = backend.status("r1", reference)
    assert (state.state, state.outcome, state.version) == ("succeeded", "promoted", "2")
    assert (tmp_path / "runs" / "runs.log").read_text() == "schedule (0 3 * * 1)\n"
    assert json.loads((tmp_path / "runs" / "r1" / "result.json").read_text())["status"] == "succeeded"


def test_a_kubernetes_run_reports_its_result_to_the_trigger(setup: Setup) -> None:
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    [run] = setup.store.runs()
    headers = {"Authorization": f"Bearer {SECRET}"}
    with client_for(setup) as client:
        assert client.post(f"/runs/{run.id}/result", json={"status": "succeeded"}).status_code == 401
        assert client.post(f"/runs/{run.id}/result", json={"status": "done"}, headers=headers).status_code == 400
        assert client.post("/runs/nope/result", json={"status": "succeeded"}, headers=headers).status_code == 404
        reported = {"status": "succeeded", "outcome": "promoted", "version": "4", "reason": "gate passed"}
        assert client.post(f"/runs/{run.id}/result", json=reported, headers=headers).json() == {"recorded": True}
    finished = setup.store.runs()[0]
    assert (finished.status, finished.outcome, finished.version) == ("succeeded", "promoted", "4")


# --- what the endpoints refuse -------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {SECRET}"}
LIMIT = 4096
POSTS = ["/alerts", "/runs", "/runs/r1/result"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": 3}, "model"),
        ({"model": []}, "model"),
        ({"reason": "no model"}, "model"),
        ({"model": "churn", "reason": []}, "reason"),
        ({"model": "churn", "reason": {"a": 1}}, "reason"),
        ({"model": "churn", "priority": 1}, "priority"),
        ([{"model": "churn"}], "the body"),
        ("churn", "the body"),
    ],
)
def test_a_manual_run_of_the_wrong_shape_is_400_naming_the_field(setup: Setup, body: Any, field: str) -> None:
    with client_for(setup) as client:
        response = client.post("/runs", content=orjson.dumps(body), headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error.startswith(f"{field}: ") and "\n" not in error and '{"model": NAME' in error
    assert setup.store.runs() == [] and setup.store.decisions() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"status": "succeeded"}], "the body"),
        ({"status": "done"}, "status"),
        ({"status": "succeeded", "outcome": 3}, "outcome"),
        ({"status": "succeeded", "version": []}, "version"),
        ({"status": "succeeded", "reason": {"a": 1}}, "reason"),
    ],
)
def test_a_run_result_of_the_wrong_shape_is_400_and_the_run_is_unchanged(setup: Setup, body: Any, field: str) -> None:
    setup.trigger.handle_notification(Notification.model_validate(notification()))
    with client_for(setup) as client:
        [before] = setup.store.runs()
        response = client.post(f"/runs/{before.id}/result", content=orjson.dumps(body), headers=AUTH)
        assert setup.store.runs() == [before]
    assert response.status_code == 400 and response.json()["error"].startswith(f"{field}: ")


def limited_app(setup: Setup, auth: str, seen: list[str]) -> Any:
    """The trigger's app with a small body limit; ``seen`` records every call a handler makes past the body check."""
    for method in ("handle", "handle_notification", "report"):
        setattr(setup.trigger, method, lambda *args, _name=method: seen.append(_name))
    return create_app(setup.trigger, auth=auth, secret=SECRET, interval=3600, max_body_bytes=LIMIT)  # type: ignore[arg-type]


@pytest.mark.parametrize("auth", ["bearer", "hmac"])
@pytest.mark.parametrize("path", POSTS)
def test_a_body_over_the_limit_is_413_before_authentication_and_is_not_read_on(setup: Setup, path: str, auth: str) -> None:
    seen: list[str] = []
    app = limited_app(setup, auth, seen)
    huge = 200 * 1024 * 1024
    declared = asgi.post(app, path, asgi.chunks(huge), {"Content-Length": str(huge)})
    assert (declared.status, declared.pulled) == (413, 0), "a declared length over the limit must be refused unread"
    assert declared.json() == {"error": f"the body is {huge} bytes; at most {LIMIT} are allowed"}
    chunked = asgi.post(app, path, asgi.chunks(huge, size=1024))  # no Content-Length: stop at the limit
    assert chunked.status == 413 and LIMIT < chunked.pulled <= LIMIT + 1024
    body = b" " * (LIMIT + 1)
    credentials = AUTH if auth == "bearer" else {"X-Signature": signature(SECRET, body)}
    assert asgi.post(app, path, [body], credentials).status == 413
    assert seen == [] and setup.store.runs() == [] and setup.store.decisions() == []


def test_a_body_within_the_limit_is_still_authenticated_and_handled(setup: Setup) -> None:
    seen: list[str] = []
    app = limited_app(setup, "bearer", seen)
    body = orjson.dumps(notification())
    assert asgi.post(app, "/alerts", [body[:100], body[100:]]).status == 401
    answer = asgi.post(app, "/alerts", [body[:100], body[100:]], AUTH)
    assert answer.status == 200 and seen == ["handle_notification"]
