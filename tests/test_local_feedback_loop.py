"""End to end on the local target: `mlops up`, traffic, a shift, and the feedback loop closing by itself.

The churn example is brought up in a temporary directory (real Prometheus,
Alertmanager, model server, drift monitor and retraining trigger as
processes). Normal traffic flows, then the customer population shifts, and
the test checks, in order: the drift alert fires in Prometheus; Alertmanager
delivers it to the retraining trigger; exactly one retraining run starts with
the alert as its reason; the new version is registered with its lineage; the
gate promotes or rejects it as its metrics dictate; a promoted version is
served with no failed request. Ground truth for the traffic is delivered as it
would arrive, so the run learns from the shifted customers.

The copy of the example raises the new-data trigger's threshold so that only
the alert can start a run here (the new-data path has its own tests).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlops_dsl.local.up import resolve
from mlops_dsl.runtime.registry import ModelRegistry
from mlops_dsl.runtime.trainer import better
from tests.helpers.local import RunningPlatform, copy_example, free_base_port, mlops, traffic_module
from tests.helpers.processes import wait_until

pytestmark = pytest.mark.slow

ALERT = "churn-feature-drift"


@dataclass
class Platform(RunningPlatform):
    folder: Path
    up_output: str

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.base_port}"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("local-platform")
    base_port = free_base_port()
    spec = copy_example(
        folder / "example",
        base_port=base_port,
        replace={'OnNewData(source="churn_labels", min_new_rows=500)': 'OnNewData(source="churn_labels", min_new_rows=10_000_000)'},
    )
    state = folder / "state"
    up = mlops("up", spec, "--state-dir", state, cwd=folder)
    result = Platform(spec, state, base_port, folder, up.stdout)
    try:
        assert up.returncode == 0, f"mlops up failed:\n{up.stdout}\n{up.stderr}\n{result.logs() if state.exists() else ''}"
        yield result
    finally:
        mlops("down", spec, "--state-dir", state, cwd=folder)


def firing(platform: Platform, alert: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{platform.prometheus}/api/v1/alerts", timeout=5).json()
    return next((a for a in answer["data"]["alerts"] if a["labels"]["alertname"] == alert and a["state"] == "firing"), None)


class Sender:
    """Sends traffic in the background, in slices, delivering each slice's ground truth as it goes."""

    def __init__(self, platform: Platform, shift: float) -> None:
        module = traffic_module(platform.spec.parent)
        self.traffic = module.Traffic(platform.state, platform.server)
        self.sent = module.Sent()
        self.shift = shift
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            part = self.traffic.send(3.0, shift=self.shift, rate=8.0)
            self.sent.requests += part.requests
            self.sent.rows += part.rows
            self.sent.failures.update(part.failures)
            self.sent.versions.update(part.versions)
            for version, seen in part.first_seen.items():
                self.sent.first_seen.setdefault(version, seen)
            self.traffic.deliver_labels()

    def __enter__(self) -> Sender:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def test_up_prints_every_service_and_status_reports_the_first_version(platform: Platform) -> None:
    status = platform.status()
    assert set(status["services"]) == {"model-server", "drift-monitor", "retraining-trigger", "prometheus", "alertmanager"}
    for name, url in status["services"].items():
        assert url in platform.up_output, f"mlops up did not print the {name} URL"
        assert status["processes"][name]["running"], f"{name} is not running:\n{platform.logs()}"
    churn = status["models"]["churn"]
    assert churn["serving_version"] == "1" and churn["production_version"] == "1"
    assert [v["stage"] for v in churn["versions"]] == ["production"]
    assert churn["versions"][0]["trigger_reason"] == "initial training (mlops up)"
    assert churn["retraining_runs"] == []

    # Prometheus scrapes the model server, the monitor and the trigger, and knows Alertmanager.
    def targets() -> dict[str, str]:
        active = httpx.get(f"{platform.prometheus}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return {t["scrapeUrl"]: t["health"] for t in active}

    wait_until(lambda: len(targets()) >= 3 and set(targets().values()) == {"up"}, 60, "every Prometheus target to be up")
    scraped = targets()
    for service in ("model-server", "drift-monitor", "retraining-trigger"):
        assert any(url.startswith(status["services"][service].split("/v2")[0].split("/drift")[0]) for url in scraped), scraped
    answer = httpx.get(f"{platform.prometheus}/api/v1/alertmanagers", timeout=5).json()["data"]["activeAlertmanagers"]
    assert [a["url"] for a in answer] == [f"{status['services']['alertmanager']}/api/v2/alerts"]
    rules = httpx.get(f"{platform.prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert ALERT in {rule["name"] for group in rules for rule in group["rules"]}


def test_a_shift_retrains_through_the_alert_and_the_new_version_serves(platform: Platform) -> None:
    with Sender(platform, shift=0.0) as normal:
        time.sleep(20)
    assert normal.sent.rows > 0 and not normal.sent.failures, normal.sent.line()
    assert firing(platform, ALERT) is None, "the drift alert fired on normal traffic"

    shifted_at = time.monotonic()
    with Sender(platform, shift=0.9) as shifted:
        # 1. The drift alert fires in Prometheus.
        wait_until(lambda: firing(platform, ALERT) is not None, 240, f"{ALERT} to fire\n{platform.logs()}", interval=1)
        fired = time.monotonic()
        print(f"\n{ALERT} fired {fired - shifted_at:.0f}s after the shift")

        # 2. Alertmanager delivers it to the retraining trigger (nothing else sends it alerts).
        def delivered() -> list[dict[str, Any]]:
            return [d for d in platform.decisions() if d["trigger"] == f"alert:{ALERT}"]

        wait_until(lambda: bool(delivered()), 120, f"the trigger to receive {ALERT} from Alertmanager\n{platform.logs()}", interval=1)
        assert delivered()[0]["action"] == "start", delivered()

        # 3. Exactly one run starts, recording the alert as its reason.
        wait_until(lambda: bool(platform.status()["models"]["churn"]["retraining_runs"]), 30, "a retraining run")
        wait_until(
            lambda: platform.status()["models"]["churn"]["retraining_runs"][0]["status"] != "running",
            300,
            f"the retraining run to finish\n{platform.logs()}",
            interval=1,
        )
        run = platform.status()["models"]["churn"]["retraining_runs"][0]
        assert run["trigger"] == f"alert:{ALERT}" and ALERT in run["reason"], run
        assert run["status"] == "succeeded", f"{run}\n{platform.logs()}"

        # 4. The new version is registered with its lineage.
        registry = ModelRegistry(resolve(str(platform.spec), None, str(platform.state)).paths.registry_uri())
        first, new = registry.versions("churn")
        assert run["version"] == new.version == "2"
        assert ALERT in new.lineage["trigger_reason"]
        assert new.lineage["data_snapshot"].startswith("sha256:") and new.lineage["data_snapshot"] != first.lineage["data_snapshot"]
        assert new.lineage["code_version"] and new.lineage["baseline"]
        assert new.lineage["parameters"]["estimator"].endswith("HistGradientBoostingClassifier")
        assert new.lineage["training_rows"] > first.lineage["training_rows"], "the run did not learn from the delivered ground truth"

        # 5. The gate decides as the metrics dictate.
        status = platform.status()["models"]["churn"]
        gate_metric = status["gate_metric"]
        candidate = new.metrics[gate_metric]
        production_on_same_rows = new.gate_production[1] if new.gate_production else None
        assert new.gate_production is None or new.gate_production[0] == "1"
        print(f"v2 {gate_metric} {candidate:.4f}; gate: {new.gate_reason}")
        spec = resolve(str(platform.spec), None, str(platform.state)).spec.platform.model("churn")
        gate = spec.training.gate
        assert gate is not None
        should_pass = better(gate_metric, candidate, gate.threshold) and (
            production_on_same_rows is None or better(gate_metric, candidate, production_on_same_rows, gate.min_improvement)
        )
        assert new.gate_passed == should_pass, new.gate_reason
        # The shifted, labelled data is made so that retraining helps: a rejected v2 is a failure of the loop.
        assert should_pass, f"the gate rejected v2 ({new.gate_reason}), so the loop never served a retrained version"
        assert new.status == "production" and status["production_version"] == "2"

        # 6. The model server serves it, and no request failed on the way.
        wait_until(lambda: "2" in shifted.sent.versions, 60, "the model server to answer with v2", interval=0.5)
        time.sleep(3)  # traffic keeps flowing across the swap
    print(f"time from the shift to v2 serving: {shifted.sent.first_seen['2'] - shifted_at:.1f}s")
    assert not shifted.sent.failures, shifted.sent.line()
    assert shifted.sent.versions["2"] > 0
    # The storm of repeated notifications (both drift alerts keep firing) started nothing more.
    assert len(platform.status()["models"]["churn"]["retraining_runs"]) == 1
    assert [d["action"] for d in platform.decisions() if d["action"] == "start"] == ["start"]


def test_down_stops_everything_and_up_resumes_from_the_state(platform: Platform) -> None:
    versions_before = json.dumps(platform.status()["models"]["churn"]["versions"], sort_keys=True)
    down = mlops("down", platform.spec, "--state-dir", platform.state, cwd=platform.folder)
    assert down.returncode == 0, down.stderr
    assert "5 process(es) stopped" in down.stdout, down.stdout
    stopped = platform.status()
    assert not any(p["running"] for p in stopped["processes"].values())
    assert (platform.state / "trigger.db").exists() and (platform.state / "registry").is_dir()

    again = mlops("up", platform.spec, "--state-dir", platform.state, cwd=platform.folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "is in production" in again.stdout  # no first training this time
    resumed = platform.status()
    assert all(p["running"] for p in resumed["processes"].values())
    assert json.dumps(resumed["models"]["churn"]["versions"], sort_keys=True) == versions_before
    assert resumed["models"]["churn"]["serving_version"] == resumed["models"]["churn"]["production_version"]
