"""The drift monitor reads a real Prometheus (Debian's package) scraping a real model server.

Normal traffic scores low; shifted traffic makes the score rise past the threshold.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from mlops_dsl.loading.loader import StackOverrides, load_platform, resolved_json
from tests.helpers.churn import SPEC, copy_state, data_module
from tests.helpers.processes import Process, free_port, mlops, wait_until

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus")
WINDOWS = {"models.churn.monitors": {"churn-feature-drift": {"window": "20s"}, "churn-prediction-drift": {"window": "20s"}}}


class Services:
    def __init__(self, server: str, monitor: str, prometheus: str) -> None:
        self.server = server
        self.monitor = monitor
        self.prometheus = prometheus

    def readings(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.monitor}/drift", timeout=5).json()["readings"])


@pytest.fixture(scope="module")
def services(trained_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    if PROMETHEUS is None:
        pytest.fail("prometheus is not installed; the README's test command installs it")
    tmp = tmp_path_factory.mktemp("drift")
    state = copy_state(trained_state, tmp / "state")
    spec = load_platform(SPEC, environment="local", stack=StackOverrides(WINDOWS, "test"))["local"]
    (tmp / "spec.json").write_text(resolved_json(spec))
    server_port, monitor_port, prometheus_port = free_port(), free_port(), free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "model-server", "static_configs": [{"targets": [f"127.0.0.1:{server_port}"]}]},
            {"job_name": "drift-monitor", "static_configs": [{"targets": [f"127.0.0.1:{monitor_port}"]}]},
        ],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))
    common = ["--spec", str(tmp / "spec.json"), "--env", "local", "--state-dir", str(state)]
    server = Process(mlops("serve", *common, "--port", str(server_port)), tmp / "serve.log")
    prometheus = Process(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        tmp / "prometheus.log",
    )
    monitor = Process(
        mlops(
            "monitor",
            *common,
            "--port",
            str(monitor_port),
            "--prometheus-url",
            f"http://127.0.0.1:{prometheus_port}",
            "--interval",
            "1",
            "--min-samples",
            "50",
        ),
        tmp / "monitor.log",
    )
    try:
        server.wait_http(f"http://127.0.0.1:{server_port}/v2/health/ready", timeout=90)
        prometheus.wait_http(f"http://127.0.0.1:{prometheus_port}/-/ready", timeout=30)
        monitor.wait_http(f"http://127.0.0.1:{monitor_port}/healthz", timeout=90)
        yield Services(f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{monitor_port}", f"http://127.0.0.1:{prometheus_port}")
    finally:
        for process in (monitor, prometheus, server):
            process.stop()


def send(server: str, seconds: float, shift: float) -> int:
    """Send traffic from the (shifted) population for a while; returns how many rows were predicted."""
    features = data_module().FEATURES
    rng = np.random.default_rng(int(shift * 100))
    sent = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=server, timeout=10) as client:
        while time.monotonic() < deadline:
            batch = data_module().requests(25, seed=int(rng.integers(1 << 30)), shift=shift)[features].to_numpy()
            body = {"inputs": [{"name": "x", "shape": [25, 7], "datatype": "FP64", "data": batch.tolist()}]}
            assert client.post("/v2/models/churn/infer", json=body).status_code == 200
            sent += 25
            time.sleep(0.02)
    return sent


def scores(services: Services, monitor: str) -> dict[str, float]:
    return {r["feature"]: r["score"] for r in services.readings() if r["monitor"] == monitor and r["score"] == r["score"]}


def test_drift_scores_stay_low_on_normal_traffic_and_rise_when_it_shifts(services: Services) -> None:
    stop = threading.Event()
    shift = {"value": 0.0}

    def traffic() -> None:
        while not stop.is_set():
            send(services.server, 0.5, shift["value"])

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        wait_until(lambda: len(scores(services, "churn-feature-drift")) == 3, 60, "drift scores on normal traffic")
        time.sleep(22)  # a full window of normal traffic
        normal = scores(services, "churn-feature-drift")
        normal_prediction = scores(services, "churn-prediction-drift")["prediction"]
        assert max(normal.values()) < 0.1, normal
        shift["value"] = 0.9
        wait_until(lambda: min(scores(services, "churn-feature-drift").values()) > 0.2, 60, "the drift score to rise past 0.2")
        drifted = scores(services, "churn-feature-drift")
        drifted_prediction = scores(services, "churn-prediction-drift")["prediction"]
    finally:
        stop.set()
        sender.join()
    assert all(drifted[feature] > normal[feature] for feature in drifted)
    assert drifted_prediction > normal_prediction
    # The scores are also in Prometheus, for the alert rules to fire on.
    query = 'max(mlops_drift_score{model="churn",monitor="churn-feature-drift"})'
    result = httpx.get(f"{services.prometheus}/api/v1/query", params={"query": query}).json()["data"]["result"]
    assert float(result[0]["value"][1]) > 0.2
