"""The retraining trigger fed by a real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1.

One alert starts one run; 100 more alerts for the same trigger start none;
after the run ends, the cooldown holds the next trigger back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlops_dsl.loading.loader import StackOverrides, load_platform, resolved_json
from tests.helpers.churn import SPEC
from tests.helpers.processes import Process, free_port, mlops, wait_until

pytestmark = pytest.mark.slow

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "prometheus-alertmanager"
AMTOOL = shutil.which("amtool") or "amtool"
STANDIN = Path(__file__).parent / "helpers" / "standin_trainer.py"
SECRET = "test-webhook-token-0123456789"
LIMITS = {"models.churn.retraining": {"cooldown": "20s", "dedup_window": "4s", "max_concurrent_runs": 1}}


class Stack:
    def __init__(self, trigger_url: str, alertmanager_url: str, runs: Path) -> None:
        self.trigger_url = trigger_url
        self.alertmanager_url = alertmanager_url
        self.runs = runs

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.trigger_url}{path}", headers={"Authorization": f"Bearer {SECRET}"}, timeout=5).json()

    def started(self) -> list[str]:
        ledger = self.runs / "runs.log"
        return ledger.read_text().splitlines() if ledger.exists() else []

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.alertmanager_url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which(ALERTMANAGER) is None or shutil.which(AMTOOL) is None:
        pytest.fail("prometheus-alertmanager is not installed; the README's test command installs it")
    tmp = tmp_path_factory.mktemp("alertmanager")
    # The churn example, with limits short enough to watch in a test, as the JSON a deployment would pass.
    spec = load_platform(SPEC, environment="local", stack=StackOverrides(LIMITS, "test"))["local"]
    (tmp / "spec.json").write_text(resolved_json(spec))
    trigger_port, am_port = free_port(), free_port()
    trigger = Process(
        mlops(
            "trigger", "--spec", str(tmp / "spec.json"), "--env", "local", "--state-dir", str(tmp / "state"),
            "--port", str(trigger_port), "--interval", "0.5",
            "--trainer-command", sys.executable, str(STANDIN), "3", "{result}", "{reason}",
        ),
        tmp / "trigger.log",
        env={"MLOPS_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    config = {
        "route": {
            "receiver": "retrain",
            "group_by": ["alertname", "model"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "retrain",
                "webhook_configs": [
                    {
                        "url": f"http://127.0.0.1:{trigger_port}/alerts",
                        "send_resolved": False,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": SECRET}},
                    }
                ],
            }
        ],
    }
    (tmp / "alertmanager.yml").write_text(json.dumps(config))  # JSON is YAML
    check = subprocess.run([AMTOOL, "check-config", str(tmp / "alertmanager.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    alertmanager = Process(
        [
            ALERTMANAGER,
            f"--config.file={tmp / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        tmp / "alertmanager.log",
    )
    try:
        trigger.wait_http(f"http://127.0.0.1:{trigger_port}/healthz", timeout=60)
        alertmanager.wait_http(f"http://127.0.0.1:{am_port}/-/ready", timeout=30)
        yield Stack(f"http://127.0.0.1:{trigger_port}", f"http://127.0.0.1:{am_port}", tmp / "state" / "runs")
    finally:
        alertmanager.stop()
        trigger.stop()


def alert(name: str = "churn-feature-drift", **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "model": "churn", "severity": "warning", **labels},
        "annotations": {"summary": "drift"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }


def test_one_alert_starts_one_run_repeats_start_none_and_the_cooldown_holds(stack: Stack) -> None:
    fired = subprocess.run(
        [
            AMTOOL,
            "alert",
            "add",
            "alertname=churn-feature-drift",
            "model=churn",
            "severity=warning",
            f"--alertmanager.url={stack.alertmanager_url}",
        ],
        capture_output=True,
        text=True,
    )
    assert fired.returncode == 0, fired.stderr
    wait_until(lambda: len(stack.get("/runs")["runs"]) == 1, 30, "Alertmanager to deliver the alert and the run to start")
    [run] = stack.get("/runs")["runs"]
    assert run["trigger"] == "alert:churn-feature-drift" and run["reason"].startswith("alert:churn-feature-drift (fired ")
    wait_until(lambda: len(stack.started()) == 1, 15, "the run's process")
    assert stack.started() == [run["reason"]]  # the reason reached the run

    # 100 more alerts for the same trigger, in a burst (distinct instances, so Alertmanager delivers them).
    before = len(stack.get("/decisions")["decisions"])
    stack.post_alerts([alert(instance=f"replica-{i}") for i in range(100)])
    wait_until(lambda: len(stack.get("/decisions")["decisions"]) >= before + 100, 30, "Alertmanager to deliver the burst")
    burst = stack.get("/decisions")["decisions"][: len(stack.get("/decisions")["decisions"]) - before]
    assert {d["kind"] for d in burst} <= {"duplicate", "concurrency"}, burst[:3]
    assert len(stack.get("/runs")["runs"]) == 1 and len(stack.started()) == 1

    # The run ends; past the 4s de-duplication window but inside the 20s cooldown, a new alert is held back.
    wait_until(lambda: stack.get("/runs")["runs"][0]["status"] == "succeeded", 30, "the run to finish")
    time.sleep(4.5)
    stack.post_alerts([alert("churn-quality")])
    wait_until(lambda: any(d["trigger"] == "alert:churn-quality" for d in stack.get("/decisions")["decisions"]), 30, "the quality alert")
    held = next(d for d in stack.get("/decisions")["decisions"] if d["trigger"] == "alert:churn-quality")
    assert held["kind"] == "cooldown" and "within the 20s cooldown" in held["reason"]
    assert len(stack.get("/runs")["runs"]) == 1 and len(stack.started()) == 1
