"""Decoding Open Inference Protocol requests: good ones, and every malformed kind with its 4xx."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from mlops_dsl.runtime.server.protocol import RequestError, decode, encode

FEATURES = ["tenure", "sessions", "charges"]
OUTPUTS = ["probability", "label"]


def request(**message: object) -> bytes:
    return orjson.dumps(message)


def by_feature(rows: int = 2) -> list[dict[str, Any]]:
    tensors: list[dict[str, Any]] = [
        {"name": "tenure", "shape": [rows], "datatype": "INT64", "data": list(range(rows))},
        {"name": "sessions", "shape": [rows, 1], "datatype": "INT32", "data": [[5]] * rows},
        {"name": "charges", "shape": [rows], "datatype": "FP64", "data": [9.5] * rows},
    ]
    return tensors


def test_one_tensor_per_feature() -> None:
    decoded = decode(request(id="a", inputs=by_feature()), FEATURES, max_rows=100, outputs=OUTPUTS)
    assert decoded.rows.tolist() == [[0, 5, 9.5], [1, 5, 9.5]]
    assert decoded.request_id == "a"
    assert decoded.outputs is None


def test_one_matrix_in_feature_order_nested_or_flat() -> None:
    nested = decode(
        request(inputs=[{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4, 5, 6]]}]),
        FEATURES,
        max_rows=9,
        outputs=OUTPUTS,
    )
    flat = decode(
        request(inputs=[{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]),
        FEATURES,
        max_rows=9,
        outputs=OUTPUTS,
    )
    assert nested.rows.tolist() == flat.rows.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_requested_outputs() -> None:
    decoded = decode(request(inputs=by_feature(), outputs=[{"name": "label"}]), FEATURES, max_rows=9, outputs=OUTPUTS)
    assert decoded.outputs == ["label"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "the body is not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (request(inputs=[]), 400, "'inputs' must be a non-empty list"),
        (request(inputs=by_feature()[:2]), 400, "missing input 'charges'"),
        (request(inputs=[*by_feature(), {"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]}]), 400, "unknown input 'age'"),
        (request(inputs=[{**by_feature()[0], "shape": [3]}, *by_feature()[1:]]), 400, "shape [3] needs 3 values, got 2"),
        (request(inputs=[{**by_feature()[0], "shape": [2, 2]}, *by_feature()[1:]]), 400, "needs 4 values"),
        (
            request(inputs=[{**by_feature()[0], "datatype": "FP128"}, *by_feature()[1:]]),
            400,
            "datatype 'FP128' is not an Open Inference Protocol type",
        ),
        (
            request(inputs=[{**by_feature()[0], "datatype": "BYTES", "data": ["a", "b"]}, *by_feature()[1:]]),
            400,
            "this model takes numeric inputs",
        ),
        (
            request(inputs=[{**by_feature()[2], "data": ["cheap", "dear"]}, *by_feature()[:2]]),
            400,
            "datatype FP64 does not match the value 'cheap'",
        ),
        (request(inputs=[{**by_feature()[0], "data": [1.5, 2]}, *by_feature()[1:]]), 400, "datatype INT64 does not match the value 1.5"),
        (request(inputs=[{**by_feature()[2], "data": [None, 1.0]}, *by_feature()[:2]]), 400, "does not match the value None"),
        (request(inputs=[{"shape": [2], "datatype": "FP64", "data": [1, 2]}]), 400, "'name' is missing"),
        (request(inputs=[{"name": "tenure", "shape": "2", "datatype": "FP64", "data": [1, 2]}]), 400, "'shape' must be a list"),
        (request(inputs=[{"name": "tenure", "shape": [2], "datatype": "FP64"}]), 400, "'data' is missing"),
        (request(inputs=by_feature(), outputs=[{"name": "score"}]), 400, "unknown output 'score'"),
        (request(inputs=by_feature(rows=0)), 400, "no rows"),
        (request(inputs=by_feature(rows=12)), 413, "at most 10 are allowed"),
        (request(inputs=[{**by_feature()[0], "shape": [1]}, *by_feature()[1:]]), 400, "needs 1 values, got 2"),
    ],
)
def test_malformed_requests_are_4xx_with_a_reason(body: bytes, status: int, message: str) -> None:
    with pytest.raises(RequestError) as error:
        decode(body, FEATURES, max_rows=10, outputs=OUTPUTS)
    assert error.value.status == status
    assert message in error.value.message


def test_inputs_must_agree_on_rows() -> None:
    tensors = by_feature()
    tensors[2] = {"name": "charges", "shape": [3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}
    with pytest.raises(RequestError, match="disagree on the number of rows"):
        decode(request(inputs=tensors), FEATURES, max_rows=10, outputs=OUTPUTS)


def test_responses_follow_the_protocol() -> None:
    body = orjson.loads(
        encode("churn", "3", "req-1", [("probability", "FP64", np.array([0.25, 0.5])), ("label", "INT64", np.array([0, 1]))])
    )
    assert body == {
        "model_name": "churn",
        "model_version": "3",
        "id": "req-1",
        "outputs": [
            {"name": "probability", "datatype": "FP64", "shape": [2], "data": [0.25, 0.5]},
            {"name": "label", "datatype": "INT64", "shape": [2], "data": [0, 1]},
        ],
    }


# --- entity keys: sent beside the features, returned apart, never fed to the model ------------------

KEYS = ["customer_id"]


def key(data: list[Any], datatype: str = "INT64", shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": "customer_id", "shape": shape or [len(data)], "datatype": datatype, "data": data}


def test_entity_keys_come_back_apart_from_the_features() -> None:
    decoded = decode(request(inputs=[key([17, 18]), *by_feature()]), FEATURES, max_rows=9, outputs=OUTPUTS, keys=KEYS)
    assert decoded.keys == {"customer_id": [17, 18]}
    assert decoded.rows.tolist() == [[0, 5, 9.5], [1, 5, 9.5]]  # the key is not an input of the model


def test_entity_keys_as_bytes_in_an_n_by_1_tensor_beside_one_matrix() -> None:
    matrix = {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4, 5, 6]]}
    decoded = decode(request(inputs=[matrix, key([["c-1"], ["c-2"]], "BYTES", [2, 1])]), FEATURES, max_rows=9, outputs=OUTPUTS, keys=KEYS)
    assert decoded.keys == {"customer_id": ["c-1", "c-2"]}
    assert decoded.rows.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_entity_keys_are_optional() -> None:
    decoded = decode(request(inputs=by_feature()), FEATURES, max_rows=9, outputs=OUTPUTS, keys=KEYS)
    assert decoded.keys == {}


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (key([17, 18, 19, 20], shape=[2, 2]), "shape [2, 2] should be [N] or [N, 1]"),
        (key([17, 18, 19]), "'customer_id' has 3 keys; the features have 2 rows"),
        (key([17.0, 18.0], "FP64"), "is an entity key: its datatype must be an integer type (INT64, ...) or BYTES, got FP64"),
        (key([17, "x"]), "datatype INT64 does not match the value 'x'"),
        (key([True, False], "INT64"), "datatype INT64 does not match the value True"),
        (key(["a", 2], "BYTES"), "datatype BYTES does not match the value 2"),
        (key([17, None]), "datatype INT64 does not match the value None"),
    ],
)
def test_malformed_entity_keys_are_400(tensor: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError) as error:
        decode(request(inputs=[tensor, *by_feature()]), FEATURES, max_rows=10, outputs=OUTPUTS, keys=KEYS)
    assert error.value.status == 400
    assert message in error.value.message


def test_an_unknown_input_is_still_400_and_the_message_names_the_keys() -> None:
    extra = {"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]}
    with pytest.raises(RequestError) as error:
        decode(request(inputs=[key([1, 2]), *by_feature(), extra]), FEATURES, max_rows=10, outputs=OUTPUTS, keys=KEYS)
    assert error.value.status == 400
    assert "unknown input 'age'" in error.value.message and "plus optional entity keys (customer_id)" in error.value.message


def test_a_key_of_another_model_is_an_unknown_input() -> None:
    with pytest.raises(RequestError, match="unknown input 'customer_id'"):
        decode(request(inputs=[key([1, 2]), *by_feature()]), FEATURES, max_rows=10, outputs=OUTPUTS)
