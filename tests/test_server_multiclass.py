"""A three-class classifier served: ``probabilities`` ``[N, 3]``, ``label``, its classes in the metadata, metrics of its top probability."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from prometheus_client import CollectorRegistry
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from starlette.testclient import TestClient

from mlops_dsl.loading.loader import load_platform
from mlops_dsl.runtime.baseline import Baseline, distribution
from mlops_dsl.runtime.monitors.quality import captured_predictions
from mlops_dsl.runtime.registry import GateResult, Lineage, LoadedModel, ModelRegistry
from mlops_dsl.runtime.server.app import ServerSettings, create_app
from mlops_dsl.runtime.server.capture import Capture
from mlops_dsl.runtime.server.metrics import ServerMetrics
from mlops_dsl.runtime.server.slots import ModelSlots
from mlops_dsl.runtime.state import StatePaths
from mlops_dsl.spec.feature_store import column_of
from mlops_dsl.spec.serving import DataCapture
from tests.helpers.churn import SPEC, copy_state, data_module
from tests.helpers.processes import Process, free_port, mlops

FEATURES = data_module().FEATURES
CLASSES = [10, 20, 30]


def rows(n: int, seed: int = 3) -> np.ndarray:
    return data_module().requests(n, seed=seed)[FEATURES].to_numpy()


def three_classes(x: np.ndarray, names: list[Any]) -> np.ndarray:
    """Classes by terciles of a mix of two features, so every class is learnable and none is rare."""
    score = x[:, 0] - 2 * x[:, 2]
    return np.asarray(names, dtype=object)[np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))]


def baseline_of(estimator: Any, x: np.ndarray) -> Baseline:
    """The baseline as the trainer computes it: a distribution per feature, and of the top class's probability."""
    return Baseline(
        features={name: distribution(x[:, i]) for i, name in enumerate(FEATURES)},
        prediction=distribution(estimator.predict_proba(x).max(axis=1)),
    )


def register_multiclass(registry: ModelRegistry, estimator: Any, x: np.ndarray) -> str:
    """Register a three-class churn model (same features as version 1) and promote it; returns its version."""
    first = registry.load("churn", "1")
    info = registry.versions("churn")[0]
    lineage = Lineage(
        info.lineage["data_snapshot"], "test", {"estimator": "multiclass"}, "multiclass test", first.features, "classification", len(x)
    )
    version = registry.register(
        "churn",
        estimator,
        metrics={"accuracy": float(estimator.score(x, three_classes(x, CLASSES).astype(int)))},
        baseline=baseline_of(estimator, x),
        lineage=lineage,
        gate=GateResult(True, "test"),
        approval="automatic",
    ).version
    registry.promote("churn", version)
    return version


class Served:
    def __init__(self, url: str, version: str, estimator: Any) -> None:
        self.url = url
        self.version = version
        self.estimator = estimator


@pytest.fixture(scope="module")
def served(trained_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = copy_state(trained_state, tmp_path_factory.mktemp("multiclass") / "state")
    x = rows(900, seed=11)
    estimator = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(x, three_classes(x, CLASSES).astype(int))
    version = register_multiclass(ModelRegistry(StatePaths(state).registry_uri()), estimator, x)
    port = free_port()
    process = Process(
        mlops("serve", "--spec", str(SPEC), "--env", "local", "--state-dir", str(state), "--port", str(port), "--poll-interval", "30"),
        state / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/v2/health/ready", timeout=90)
        yield Served(url, version, estimator)
    finally:
        process.stop()


def test_the_metadata_names_the_classes_in_column_order(served: Served) -> None:
    metadata = httpx.get(f"{served.url}/v2/models/churn").json()
    assert metadata["versions"] == [served.version]
    assert metadata["outputs"] == [
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3], "parameters": {"class_labels": CLASSES}},
        {"name": "label", "datatype": "INT64", "shape": [-1]},
    ]
    assert triton.InferenceServerClient(served.url.removeprefix("http://")).get_model_metadata("churn") == metadata


def test_a_json_request_gets_one_probability_per_class_and_the_top_class(served: Served) -> None:
    batch = rows(5)
    body = {"id": "mc", "inputs": [{"name": "predict", "shape": [5, 7], "datatype": "FP64", "data": batch.tolist()}]}
    answer = httpx.post(f"{served.url}/v2/models/churn/infer", json=body)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    probabilities, label = answer.json()["outputs"]
    assert (probabilities["name"], probabilities["datatype"], probabilities["shape"]) == ("probabilities", "FP64", [5, 3])
    matrix = np.array(probabilities["data"]).reshape(5, 3)
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert np.allclose(matrix, served.estimator.predict_proba(batch))
    assert (label["datatype"], label["shape"]) == ("INT64", [5])
    assert label["data"] == served.estimator.predict(batch).tolist()
    assert set(label["data"]) <= set(CLASSES)


def test_the_triton_client_in_binary_and_with_json_outputs(served: Served) -> None:
    client = triton.InferenceServerClient(served.url.removeprefix("http://"))
    batch = rows(7, seed=5)
    matrix = triton.InferInput("predict", [7, 7], "FP64")
    matrix.set_data_from_numpy(batch.astype(np.float64))
    binary = client.infer("churn", [matrix])
    assert all("data" not in o for o in binary.get_response()["outputs"])
    probabilities = binary.as_numpy("probabilities")
    assert probabilities.shape == (7, 3) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.array_equal(probabilities, served.estimator.predict_proba(batch))
    assert binary.as_numpy("label").tolist() == served.estimator.predict(batch).tolist()
    wanted = [triton.InferRequestedOutput("probabilities", binary_data=False), triton.InferRequestedOutput("label", binary_data=False)]
    as_json = client.infer("churn", [matrix], outputs=wanted)
    assert all("data" in o for o in as_json.get_response()["outputs"])
    assert np.array_equal(as_json.as_numpy("probabilities"), probabilities)
    assert np.array_equal(as_json.as_numpy("label"), binary.as_numpy("label"))


def test_a_multiclass_model_has_no_single_probability_output(served: Served) -> None:
    body = {
        "inputs": [{"name": "predict", "shape": [1, 7], "datatype": "FP64", "data": rows(1).tolist()}],
        "outputs": [{"name": "probability"}],
    }
    answer = httpx.post(f"{served.url}/v2/models/churn/infer", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unknown output 'probability'; allowed: probabilities, label"


def sample(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert found, series
    return float(found.group(1))


def test_the_prediction_histogram_counts_the_top_probability_once_per_row(served: Served) -> None:
    labels = f'model="churn",version="{served.version}"'
    before = httpx.get(f"{served.url}/metrics").text
    batch = rows(9, seed=8)
    body = {"inputs": [{"name": "predict", "shape": [9, 7], "datatype": "FP64", "data": batch.tolist()}]}
    assert httpx.post(f"{served.url}/v2/models/churn/infer", json=body).status_code == 200
    after = httpx.get(f"{served.url}/metrics").text
    assert sample(after, f"mlops_prediction_count{{{labels}}}") - sample(before, f"mlops_prediction_count{{{labels}}}") == 9
    top = served.estimator.predict_proba(batch).max(axis=1)
    added = sample(after, f"mlops_prediction_sum{{{labels}}}") - sample(before, f"mlops_prediction_sum{{{labels}}}")
    assert added == pytest.approx(top.sum())
    # the buckets are the baseline's, made from top probabilities (each between 1/3 and 1)
    edges = [float(edge) for edge in re.findall(rf'mlops_prediction_bucket{{le="([^"+]+)",{re.escape(labels)}}}', after)]
    assert edges and all(1 / 3 <= edge <= 1 for edge in edges)
    assert 'code="500"' not in after


# --- in-process: classes that are text, and what data capture records --------------------------------


def test_text_classes_are_bytes_labels_and_capture_records_the_top_probability(tmp_path: Path) -> None:
    spec = load_platform(SPEC, environment="local")["local"]
    x = rows(600, seed=21)
    names = ["bronze", "gold", "silver"]
    estimator = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, three_classes(x, names).astype(str))
    model = spec.platform.model("churn")
    loaded = LoadedModel("churn", "4", estimator, list(model.features), "classification", baseline_of(estimator, x))
    assert [column_of(ref) for ref in model.features] == FEATURES
    metrics = ServerMetrics(CollectorRegistry())
    capture = Capture(tmp_path / "capture", DataCapture(sampling_percent=100))
    app = create_app(ModelSlots.fixed(spec.platform, loaded, metrics), metrics, ServerSettings(), {"churn": capture})
    batch = rows(4, seed=2)
    inputs = [
        {"name": "predict", "shape": [4, 7], "datatype": "FP64", "data": batch.tolist()},
        {"name": "customer_id", "shape": [4], "datatype": "INT64", "data": [1, 2, 3, 4]},
    ]
    with TestClient(app) as client:
        metadata = client.get("/v2/models/churn").json()
        answer = client.post("/v2/models/churn/infer", json={"inputs": inputs})
        triton_body, json_size = triton.InferenceServerClient.generate_request_body(
            [
                triton.InferInput("predict", [4, 7], "FP64").set_data_from_numpy(batch.astype(np.float64)),
                triton.InferInput("customer_id", [4], "INT64").set_data_from_numpy(np.array([5, 6, 7, 8])),
            ]
        )
        binary = client.post("/v2/models/churn/infer", content=triton_body, headers={"Inference-Header-Content-Length": str(json_size)})
    assert metadata["outputs"] == [
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3], "parameters": {"class_labels": names}},
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
    ]
    probabilities, label = answer.json()["outputs"]
    assert np.allclose(np.array(probabilities["data"]).reshape(4, 3), estimator.predict_proba(batch))
    assert label == {"name": "label", "datatype": "BYTES", "shape": [4], "data": estimator.predict(batch).tolist()}
    result = triton.InferenceServerClient.parse_response_body(
        binary.content, header_length=int(binary.headers["inference-header-content-length"])
    )
    assert [value.decode() for value in result.as_numpy("label")] == label["data"]
    assert np.allclose(result.as_numpy("probabilities"), estimator.predict_proba(batch))

    captured = captured_predictions(tmp_path / "capture" / "churn", ["customer_id"], datetime.now(UTC) - timedelta(hours=1))
    assert len(captured) == 8  # both requests, four rows each
    assert captured["label"].tolist() == label["data"] * 2
    assert np.allclose(captured["probability"].to_numpy(dtype=float), np.tile(estimator.predict_proba(batch).max(axis=1), 2))


def test_batch_scoring_writes_one_probability_column_per_class(trained_state: Path, tmp_path: Path) -> None:
    from mlops_dsl.runtime.batch import score

    state = copy_state(trained_state, tmp_path / "state")
    x = rows(600, seed=5)
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, three_classes(x, CLASSES).astype(int))
    version = register_multiclass(ModelRegistry(StatePaths(state).registry_uri()), estimator, x)
    folder = StatePaths(state).data_root / "batch" / "in"
    folder.mkdir(parents=True)
    frame = data_module().requests(40, seed=8)[FEATURES]
    frame.to_parquet(folder / "part-0.parquet")
    model = load_platform(SPEC, environment="local")["local"].platform.model("churn")
    scores = pd.read_parquet(score(model, "batch/in", "batch/out", StatePaths(state)))
    columns = [f"probability_{label}" for label in CLASSES]
    expected = estimator.predict_proba(frame.to_numpy(dtype=float))
    np.testing.assert_allclose(scores[columns].to_numpy(), expected, rtol=1e-12)
    assert scores["label"].tolist() == np.asarray(CLASSES)[expected.argmax(axis=1)].tolist()
    assert set(scores["model_version"]) == {version}


def test_model_monitor_reads_the_top_probability_of_a_multiclass_response() -> None:
    from mlops_dsl.aws import record_preprocessor

    request = {"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]}]}
    response = {"outputs": [{"name": "probabilities", "shape": [2, 3], "data": [[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]]}]}
    original = record_preprocessor.FEATURES
    record_preprocessor.FEATURES = ["a"]
    try:
        assert record_preprocessor.rows_of(request, response) == [{"a": 1.0, "prediction": 0.7}, {"a": 2.0, "prediction": 0.5}]
    finally:
        record_preprocessor.FEATURES = original
