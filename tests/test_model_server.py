"""The model server as a real process: a standard OIP client, malformed requests, metrics, hot swap."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from mlops_dsl.runtime.registry import ModelRegistry
from mlops_dsl.runtime.state import StatePaths
from tests.helpers.churn import SPEC, copy_state, data_module, register_copy
from tests.helpers.processes import Process, free_port, mlops, wait_until

FEATURES = data_module().FEATURES
DTYPES = ["INT64", "INT64", "FP64", "INT64", "FP64", "INT64", "INT64"]


class Server:
    def __init__(self, url: str, state: Path, process: Process) -> None:
        self.url = url
        self.state = state
        self.process = process

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(StatePaths(self.state).registry_uri())


@pytest.fixture(scope="module")
def server(trained_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = copy_state(trained_state, tmp_path_factory.mktemp("serve") / "state")
    port = free_port()
    process = Process(
        mlops("serve", "--spec", str(SPEC), "--env", "local", "--state-dir", str(state), "--port", str(port), "--poll-interval", "0.3"),
        state / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/v2/health/ready", timeout=90)
        yield Server(url, state, process)
    finally:
        process.stop()


def rows(n: int = 4, shift: float = 0.0) -> np.ndarray:
    return data_module().requests(n, seed=3, shift=shift)[FEATURES].to_numpy()


def test_a_standard_open_inference_protocol_client_works(server: Server) -> None:
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("churn")
    metadata = client.get_model_metadata("churn")
    assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == list(zip(FEATURES, DTYPES, strict=True))
    batch = rows(5)
    inputs = []
    for index, (name, dtype) in enumerate(zip(FEATURES, DTYPES, strict=True)):
        tensor = triton.InferInput(name, [5], dtype)
        tensor.set_data_from_numpy(batch[:, index].astype(np.int64 if dtype == "INT64" else np.float64), binary_data=False)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput("probability", binary_data=False), triton.InferRequestedOutput("label", binary_data=False)]
    result = client.infer("churn", inputs, outputs=outputs, request_id="batch-1")
    probability = result.as_numpy("probability")
    expected = server.registry.load("churn", "1").estimator.predict_proba(batch)[:, 1]
    assert np.allclose(probability, expected)
    assert set(result.as_numpy("label")) <= {0, 1}
    assert result.get_response()["model_version"] == "1"


def binary_inputs(batch: np.ndarray) -> list[triton.InferInput]:
    """One tensor per feature, as ``set_data_from_numpy`` makes it by default: binary data after the JSON header."""
    inputs = []
    for index, (name, dtype) in enumerate(zip(FEATURES, DTYPES, strict=True)):
        tensor = triton.InferInput(name, [len(batch)], dtype)
        tensor.set_data_from_numpy(batch[:, index].astype(np.int64 if dtype == "INT64" else np.float64))
        inputs.append(tensor)
    return inputs


def test_the_triton_clients_default_infer_call_sends_and_gets_binary_data(server: Server) -> None:
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    batch = rows(6)
    result = client.infer("churn", binary_inputs(batch))
    described = result.get_response()["outputs"]
    assert [o["name"] for o in described] == ["probability", "label"]
    assert all("data" not in o and o["parameters"]["binary_data_size"] == 6 * 8 for o in described)
    estimator = server.registry.load("churn", "1").estimator
    assert np.array_equal(result.as_numpy("probability"), estimator.predict_proba(batch)[:, 1])
    assert np.array_equal(result.as_numpy("label"), estimator.predict(batch))


def test_binary_inputs_with_json_outputs(server: Server) -> None:
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    batch = rows(3)
    outputs = [triton.InferRequestedOutput("probability", binary_data=False), triton.InferRequestedOutput("label", binary_data=True)]
    result = client.infer("churn", binary_inputs(batch), outputs=outputs, request_id="mixed")
    response = result.get_response()
    assert response["id"] == "mixed"
    probability, label = response["outputs"]
    assert len(probability["data"]) == 3 and "parameters" not in probability
    assert label["parameters"] == {"binary_data_size": 3 * 8} and "data" not in label
    assert np.allclose(result.as_numpy("probability"), server.registry.load("churn", "1").estimator.predict_proba(batch)[:, 1])
    # every output asked back as JSON: a plain JSON response, as before the extension
    plain = client.infer("churn", binary_inputs(batch), outputs=[triton.InferRequestedOutput("label", binary_data=False)])
    assert plain.get_response()["outputs"][0]["data"] == result.as_numpy("label").tolist()


def test_binary_responses_carry_their_header_length_and_errors_stay_json(server: Server) -> None:
    body, json_size = triton.InferenceServerClient.generate_request_body(binary_inputs(rows(2)))
    headers = {"Inference-Header-Content-Length": str(json_size)}
    answer = httpx.post(f"{server.url}/v2/models/churn/infer", content=body, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"
    size = int(answer.headers["inference-header-content-length"])
    assert len(answer.content) == size + 2 * 8 + 2 * 8
    assert [o["parameters"]["binary_data_size"] for o in orjson.loads(answer.content[:size])["outputs"]] == [16, 16]
    for bad, message in [
        (body[:-3], "only 13 remain after the JSON header and the inputs before it"),
        (body + b"\0", "the body has 1 bytes after the JSON header that no input claims"),
    ]:
        refused = httpx.post(f"{server.url}/v2/models/churn/infer", content=bad, headers=headers)
        assert refused.status_code == 400 and refused.headers["content-type"] == "application/json"
        assert message in refused.json()["error"]
    refused = httpx.post(f"{server.url}/v2/models/churn/infer", content=body, headers={"Inference-Header-Content-Length": "x"})
    assert refused.status_code == 400 and "Inference-Header-Content-Length header must be a number of bytes" in refused.json()["error"]
    huge = {"Inference-Header-Content-Length": "10"}
    assert httpx.post(f"{server.url}/v2/models/churn/infer", content=b"\0" * (9 * 1024 * 1024), headers=huge).status_code == 413
    assert 'code="500"' not in httpx.get(f"{server.url}/metrics").text


def test_one_matrix_tensor_as_mlserver_clients_send_it(server: Server) -> None:
    batch = rows(3)
    body = {"inputs": [{"name": "predict", "shape": [3, 7], "datatype": "FP64", "data": batch.tolist()}], "outputs": [{"name": "label"}]}
    response = httpx.post(f"{server.url}/v2/models/churn/infer", json=body)
    assert response.status_code == 200
    assert [o["name"] for o in response.json()["outputs"]] == ["label"]


def good_tensors(n: int = 2) -> list[dict[str, Any]]:
    batch = rows(n)
    return [
        {"name": name, "shape": [n], "datatype": dtype, "data": batch[:, i].astype(int if dtype == "INT64" else float).tolist()}
        for i, (name, dtype) in enumerate(zip(FEATURES, DTYPES, strict=True))
    ]


def customer_ids(n: int) -> dict[str, Any]:
    return {"name": "customer_id", "shape": [n], "datatype": "INT64", "data": list(range(900, 900 + n))}


def test_entity_keys_ride_along_without_changing_the_prediction(server: Server) -> None:
    plain = httpx.post(f"{server.url}/v2/models/churn/infer", json={"inputs": good_tensors(3)})
    keyed = httpx.post(f"{server.url}/v2/models/churn/infer", json={"inputs": [customer_ids(3), *good_tensors(3)]})
    assert plain.status_code == keyed.status_code == 200
    assert keyed.json()["outputs"] == plain.json()["outputs"]


@pytest.mark.parametrize(
    ("mutate", "status", "message"),
    [
        (lambda t: t[:-1], 400, "missing input 'late_payments_12m'"),
        (lambda t: [{**t[0], "shape": [3]}, *t[1:]], 400, "shape [3] needs 3 values, got 2"),
        (lambda t: [{**t[0], "datatype": "FP64", "data": ["new", "old"]}, *t[1:]], 400, "does not match the value 'new'"),
        (lambda t: [{**t[0], "datatype": "BYTES"}, *t[1:]], 400, "this model takes numeric inputs"),
        (lambda t: [*t, {**t[0], "name": "age"}], 400, "unknown input 'age'"),
        (lambda t: [*t, customer_ids(2), {**t[0], "name": "age"}], 400, "unknown input 'age'"),
        (lambda t: [*t, {**customer_ids(2), "shape": [1, 2]}], 400, "input 'customer_id': shape [1, 2] should be [N] or [N, 1]"),
        (lambda t: [*t, {**customer_ids(2), "datatype": "FP64"}], 400, "'customer_id' is an entity key"),
    ],
)
def test_malformed_requests_get_a_4xx_with_a_clear_message(server: Server, mutate: Any, status: int, message: str) -> None:
    response = httpx.post(f"{server.url}/v2/models/churn/infer", json={"inputs": mutate(good_tensors())})
    assert response.status_code == status
    assert message in response.json()["error"]


def test_a_body_that_is_not_json(server: Server) -> None:
    response = httpx.post(f"{server.url}/v2/models/churn/infer", content=b"inputs=1")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]


def test_an_oversized_body_is_413(server: Server) -> None:
    response = httpx.post(f"{server.url}/v2/models/churn/infer", content=b"[" + b"1," * (5 * 1024 * 1024) + b"1]")
    assert response.status_code == 413 and "at most" in response.json()["error"]


def test_an_unknown_model_or_version_is_404(server: Server) -> None:
    assert httpx.post(f"{server.url}/v2/models/fraud/infer", json={"inputs": good_tensors()}).status_code == 404
    assert httpx.post(f"{server.url}/v2/models/churn/versions/99/infer", json={"inputs": good_tensors()}).status_code == 404


def test_metrics_count_requests_errors_latency_predictions_and_features(server: Server) -> None:
    httpx.post(f"{server.url}/v2/models/churn/infer", json={"inputs": good_tensors(4)})
    httpx.post(f"{server.url}/v2/models/churn/infer", json={"inputs": good_tensors()[:1]})
    text = httpx.get(f"{server.url}/metrics").text
    assert 'mlops_requests_total{model="churn",version="1"}' in text
    assert 'mlops_request_errors_total{code="400",model="churn",version="1"}' in text
    assert 'mlops_request_duration_seconds_bucket{le="0.005",model="churn",version="1"}' in text
    assert 'mlops_prediction_bucket{le="+Inf",model="churn",version="1"}' in text
    for feature in FEATURES:
        assert f'mlops_feature_value_count{{feature="{feature}",model="churn",version="1"}}' in text
    assert 'mlops_serving_version{model="churn",role="stable",version="1"} 1.0' in text
    assert 'code="500"' not in text


@pytest.mark.slow
def test_a_promoted_version_is_swapped_in_under_load_with_no_failed_request(server: Server) -> None:
    new_version = register_copy(server.registry, "hot swap test")

    seen: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()
    body = {"inputs": good_tensors(8)}

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/v2/models/churn/infer", json=body)
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text}")
                else:
                    seen[response.json()["model_version"]] += 1

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: sum(seen.values()) > 200, 30, "traffic on version 1")
        server.registry.promote("churn", new_version)
        wait_until(lambda: seen[new_version] > 200, 30, f"traffic on version {new_version}")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert seen["1"] > 200 and seen[new_version] > 200
    # once swapped, every answer comes from the new version
    check = [httpx.post(f"{server.url}/v2/models/churn/infer", json=body).json()["model_version"] for _ in range(20)]
    assert set(check) == {new_version}
