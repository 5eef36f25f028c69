"""Canary traffic split and data capture, on the server application in-process."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.runtime.registry import ModelRegistry
from mlops_dsl.runtime.server.app import ServerSettings, create_app
from mlops_dsl.runtime.server.capture import Capture
from mlops_dsl.runtime.server.metrics import ServerMetrics
from mlops_dsl.runtime.server.slots import ModelSlots
from mlops_dsl.runtime.state import StatePaths
from tests.helpers.churn import SPEC, copy_state, data_module, register_canary

CANARY_SPEC = {"percent": 30, "bake_time": "5m", "rollback_on": ["churn-error-rate"]}


def test_a_canary_gets_its_share_of_traffic_and_metrics_and_capture_say_which_version(trained_state: Path, tmp_path: Path) -> None:
    state = copy_state(trained_state, tmp_path / "state")
    registry = ModelRegistry(StatePaths(state).registry_uri())
    canary_version = register_canary(registry)

    spec = load_platform(
        SPEC,
        environment="local",
        stack=StackOverrides(
            {"models.churn.serving.canary": CANARY_SPEC, "models.churn.serving.data_capture.sampling_percent": 100}, "test"
        ),
    )["local"]
    metrics = ServerMetrics(CollectorRegistry())
    slots = ModelSlots(spec.platform, ["churn"], registry, metrics)
    capture = Capture(tmp_path / "capture", spec.platform.model("churn").serving.data_capture, seed=5)
    app = create_app(slots, metrics, ServerSettings(poll_interval=60, seed=7), {"churn": capture})
    batch = data_module().requests(2, seed=4)[data_module().FEATURES].to_numpy().tolist()
    body = {"id": "r", "inputs": [{"name": "x", "shape": [2, 7], "datatype": "FP64", "data": batch}]}

    versions: Counter[str] = Counter()
    with TestClient(app) as client:
        for _ in range(400):
            response = client.post("/v2/models/churn/infer", json=body)
            assert response.status_code == 200
            versions[response.json()["model_version"]] += 1
        metadata = client.get("/v2/models/churn").json()
        exposition = client.get("/metrics").text

    assert 80 <= versions[canary_version] <= 160, versions  # 30% of 400, well within the binomial spread
    assert versions["1"] + versions[canary_version] == 400
    assert metadata["versions"] == ["1", canary_version]
    assert f'mlops_requests_total{{model="churn",version="{canary_version}"}} {float(versions[canary_version])}' in exposition
    assert f'mlops_serving_version{{model="churn",role="canary",version="{canary_version}"}} 1.0' in exposition
    lines = [json.loads(line) for path in (tmp_path / "capture" / "churn").glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(lines) == 400
    assert {line["version"] for line in lines} == {"1", canary_version}
    assert lines[0]["id"] == "r" and len(lines[0]["inputs"]["tenure_months"]) == 2 and len(lines[0]["outputs"]["probability"]) == 2
