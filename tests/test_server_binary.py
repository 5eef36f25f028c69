"""The binary tensor data extension: requests made by the real Triton client, every malformed kind with its 400, responses it reads."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from mlops_dsl.runtime.server.binary import decode_binary, encode_binary, header_size
from mlops_dsl.runtime.server.protocol import RequestError, decode

FEATURES = ["tenure", "sessions", "charges"]
OUTPUTS = ["probability", "label"]
KEYS = ["customer_id"]


def tensor(name: str, values: np.ndarray, datatype: str, binary: bool = True) -> triton.InferInput:
    made = triton.InferInput(name, list(values.shape), datatype)
    made.set_data_from_numpy(values, binary_data=binary)
    return made


def triton_body(inputs: list[triton.InferInput], outputs: list[triton.InferRequestedOutput] | None = None) -> tuple[bytes, str]:
    """The body and Inference-Header-Content-Length the Triton client sends for ``infer(model, inputs, outputs=...)``."""
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, outputs=outputs)
    assert json_size is not None, "the client sent no binary data"
    return body, str(json_size)


def by_values(rows: int = 2) -> list[tuple[str, np.ndarray, str]]:
    return [
        ("tenure", np.arange(rows, dtype=np.int64), "INT64"),
        ("sessions", np.full((rows, 1), 5, dtype=np.int32), "INT32"),
        ("charges", np.full(rows, 9.5), "FP64"),
    ]


def by_feature(rows: int = 2, binary: bool = True) -> list[triton.InferInput]:
    return [tensor(name, values, datatype, binary) for name, values, datatype in by_values(rows)]


def decoded(body: bytes, header: str, keys: list[str] | None = None) -> Any:
    return decode_binary(body, header, FEATURES, max_rows=10, outputs=OUTPUTS, keys=keys or [])


# --- what the Triton client sends -------------------------------------------------------------------


def test_the_triton_clients_default_request_decodes_as_its_json_twin_does() -> None:
    body, header = triton_body(by_feature())
    binary = decoded(body, header)
    assert binary.rows.tolist() == [[0, 5, 9.5], [1, 5, 9.5]]
    json_body, json_size = triton.InferenceServerClient.generate_request_body(by_feature(binary=False))
    assert json_size is None  # all JSON: no header length
    assert decode(json_body, FEATURES, max_rows=10, outputs=OUTPUTS).rows.tolist() == binary.rows.tolist()
    assert binary.outputs is None and binary.binary_default  # no outputs named: all come back binary
    assert binary.wants_binary("probability") and binary.wants_binary("label")


def test_one_matrix_of_every_numeric_width_and_bool() -> None:
    matrix = np.array([[1, 2, 3], [4, 5, 6]])
    for datatype, dtype in [("FP16", np.float16), ("FP32", np.float32), ("INT8", np.int8), ("UINT16", np.uint16), ("UINT64", np.uint64)]:
        body, header = triton_body([tensor("predict", matrix.astype(dtype), datatype)])
        assert decoded(body, header).rows.tolist() == [[1, 2, 3], [4, 5, 6]], datatype
    body, header = triton_body([tensor("predict", np.array([[True, False, True]]), "BOOL")])
    assert decoded(body, header).rows.tolist() == [[1, 0, 1]]


def test_binary_and_json_inputs_mixed_and_bytes_keys() -> None:
    ids = np.array([b"c-1", "c-\u00e9".encode()], dtype=np.object_)
    inputs = [tensor("customer_id", ids, "BYTES"), by_feature()[0], tensor("sessions", np.full((2, 1), 5, np.int32), "INT32", False)]
    body, header = triton_body([*inputs, by_feature()[2]])
    result = decoded(body, header, KEYS)
    assert result.keys == {"customer_id": ["c-1", "c-\u00e9"]}
    assert result.rows.tolist() == [[0, 5, 9.5], [1, 5, 9.5]]


def test_integer_keys_in_binary_come_back_as_python_ints() -> None:
    body, header = triton_body([tensor("customer_id", np.array([17, 18], dtype=np.int64), "INT64"), *by_feature()])
    assert decoded(body, header, KEYS).keys == {"customer_id": [17, 18]}


def test_outputs_say_which_come_back_binary() -> None:
    outputs = [triton.InferRequestedOutput("probability"), triton.InferRequestedOutput("label", binary_data=False)]
    body, header = triton_body(by_feature(), outputs)
    result = decoded(body, header)
    assert result.outputs == ["probability", "label"]
    assert result.wants_binary("probability") and not result.wants_binary("label")


def test_a_json_request_may_ask_for_binary_outputs() -> None:
    inputs = [{"name": n, "shape": [1], "datatype": "FP64", "data": [1.0]} for n in FEATURES]
    asked = decode(orjson.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}), FEATURES, max_rows=9, outputs=OUTPUTS)
    assert asked.wants_binary("label")
    plain = decode(orjson.dumps({"inputs": inputs}), FEATURES, max_rows=9, outputs=OUTPUTS)
    assert not plain.wants_binary("label") and not plain.binary_overrides


# --- malformed binary bodies: a 400 with one line naming what is wrong ------------------------------


def header_json(inputs: list[dict[str, Any]], **message: Any) -> bytes:
    return orjson.dumps({"inputs": inputs, **message})


def fp64(name: str, rows: int, size: int | None = None) -> dict[str, Any]:
    return {"name": name, "shape": [rows], "datatype": "FP64", "parameters": {"binary_data_size": 8 * rows if size is None else size}}


def raw_body(inputs: list[dict[str, Any]], data: bytes, **message: Any) -> tuple[bytes, str]:
    head = header_json(inputs, **message)
    return head + data, str(len(head))


def floats(*values: float) -> bytes:
    return np.array(values, dtype="<f8").tobytes()


def bytes_elements(*elements: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


GOOD = [fp64("tenure", 2), fp64("sessions", 2), fp64("charges", 2)]
GOOD_DATA = floats(1, 2) + floats(3, 4) + floats(5, 6)


def test_a_hand_made_body_decodes() -> None:
    body, header = raw_body(GOOD, GOOD_DATA)
    assert decoded(body, header).rows.tolist() == [[1, 3, 5], [2, 4, 6]]


def key(data: bytes, count: int = 2) -> dict[str, Any]:
    return {"name": "customer_id", "shape": [count], "datatype": "BYTES", "parameters": {"binary_data_size": len(data)}}


@pytest.mark.parametrize(
    ("inputs", "data", "message"),
    [
        (
            [fp64("tenure", 2, size=12), *GOOD[1:]],
            floats(1) + b"\0" * 4 + GOOD_DATA[16:],
            "input 'tenure': shape [2] of FP64 is 16 bytes (2 x 8), but",
        ),
        (
            [*GOOD[:2], fp64("charges", 2, size=24)],
            GOOD_DATA,
            "input 'charges': parameters.binary_data_size is 24 bytes, but only 16 remain after",
        ),
        (
            [fp64("tenure", 2, size=64), *GOOD[1:]],
            GOOD_DATA,
            "input 'tenure': parameters.binary_data_size is 64 bytes, but only 48 remain after the JSON header",
        ),
        (GOOD, GOOD_DATA + b"\0" * 5, "the body has 5 bytes after the JSON header that no input claims"),
        (
            [*GOOD[:2], {**GOOD[2], "parameters": {"binary_data_size": -8}}],
            GOOD_DATA,
            "input 'charges': parameters.binary_data_size must be a number of bytes, got -8",
        ),
        (
            [*GOOD[:2], {**GOOD[2], "parameters": {"binary_data_size": "16"}}],
            GOOD_DATA,
            "binary_data_size must be a number of bytes, got '16'",
        ),
        ([*GOOD[:2], {**GOOD[2], "data": [5.0, 6.0]}], GOOD_DATA, "input 'charges' has both 'data' and parameters.binary_data_size"),
        (
            [*GOOD[:2], {**GOOD[2], "datatype": "FP128"}],
            GOOD_DATA,
            "input 'charges': datatype 'FP128' is not an Open Inference Protocol type",
        ),
        ([*GOOD[:2], {**GOOD[2], "shape": "2"}], GOOD_DATA, "input 'charges': 'shape' must be a list"),
        ([*GOOD[:2], {**GOOD[2], "datatype": "BOOL", "shape": [16]}], GOOD_DATA, "input 'charges': a BOOL element is one byte, 0 or 1"),
    ],
)
def test_malformed_binary_bodies_are_400(inputs: list[dict[str, Any]], data: bytes, message: str) -> None:
    body, header = raw_body(inputs, data)
    with pytest.raises(RequestError) as error:
        decoded(body, header)
    assert error.value.status == 400
    assert message in error.value.message
    assert "\n" not in error.value.message


@pytest.mark.parametrize(
    ("data", "count", "message"),
    [
        (bytes_elements(b"c-1", b"c-2", b"c-3"), 2, "input 'customer_id': shape [2] needs 2 BYTES elements, the binary data holds 3"),
        (bytes_elements(b"c-1") + b"\x02\0", 2, "input 'customer_id': BYTES element 1 is cut off in its 4-byte length"),
        (
            bytes_elements(b"c-1") + struct.pack("<I", 99) + b"c-2",
            2,
            "BYTES element 1 says it is 99 bytes, but only 3 are left of the input",
        ),
        (bytes_elements(b"c-1", b"\xff\xfe"), 2, "input 'customer_id': BYTES element 1 is not UTF-8 text"),
        (b"", 2, "shape [2] needs 2 BYTES elements, the binary data holds 0"),
    ],
)
def test_malformed_bytes_tensors_are_400(data: bytes, count: int, message: str) -> None:
    body, header = raw_body([key(data, count), *GOOD], data + GOOD_DATA)
    with pytest.raises(RequestError) as error:
        decoded(body, header, KEYS)
    assert error.value.status == 400 and message in error.value.message


def test_a_bytes_feature_is_still_refused_as_not_numeric() -> None:
    data = bytes_elements(b"a", b"b")
    body, header = raw_body([{**key(data), "name": "tenure"}, *GOOD[1:]], data + GOOD_DATA[16:])
    with pytest.raises(RequestError, match="this model takes numeric inputs"):
        decoded(body, header)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("abc", "the Inference-Header-Content-Length header must be a number of bytes, got 'abc'"),
        ("-5", "must be a number of bytes, got '-5'"),
        ("12.5", "must be a number of bytes, got '12.5'"),
        ("", "must be a number of bytes, got ''"),
        ("\u0661\u0662", "must be a number of bytes"),  # Arabic-Indic digits: isdigit() says yes, HTTP does not
        ("100000", "says the JSON header is 100000 bytes, but the whole body is"),
        ("9" * 5000, f"says the JSON header is {'9' * 20}... bytes"),
    ],
)
def test_a_bad_header_length_is_400(header: str, message: str) -> None:
    body, _ = raw_body(GOOD, GOOD_DATA)
    with pytest.raises(RequestError) as error:
        decoded(body, header)
    assert error.value.status == 400 and message in error.value.message


def test_binary_data_without_the_header_length_is_400() -> None:
    body, _ = raw_body(GOOD, GOOD_DATA)
    with pytest.raises(RequestError, match="input 'tenure' has binary data, but the request has no Inference-Header-Content-Length header"):
        decode(body[: body.index(b"}]}") + 3], FEATURES, max_rows=10, outputs=OUTPUTS)


def test_a_header_length_that_cuts_the_json_short_is_400() -> None:
    body, header = raw_body(GOOD, GOOD_DATA)
    with pytest.raises(RequestError, match=r"the JSON header \(the first 10 bytes of the body\) is not valid JSON"):
        decoded(body, "10")
    assert header_size(f" {header} ", len(body)) == int(header)  # surrounding blanks are allowed, as in any header value


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"parameters": {"binary_data_output": "yes"}}, "parameters.binary_data_output must be true or false, got 'yes'"),
        (
            {"outputs": [{"name": "label", "parameters": {"binary_data": 1}}]},
            "output 'label': parameters.binary_data must be true or false, got 1",
        ),
    ],
)
def test_binary_output_flags_must_be_booleans(message: dict[str, Any], problem: str) -> None:
    body, header = raw_body(GOOD, GOOD_DATA, **message)
    with pytest.raises(RequestError) as error:
        decoded(body, header)
    assert problem in error.value.message


def test_other_checks_still_apply_to_binary_requests() -> None:
    body, header = raw_body([fp64("tenure", 12), fp64("sessions", 12), fp64("charges", 12)], floats(*range(36)))
    with pytest.raises(RequestError) as error:
        decoded(body, header)
    assert error.value.status == 413 and "at most 10 are allowed" in error.value.message


# --- responses the Triton client reads ------------------------------------------------------------------


PRODUCED = [
    ("probabilities", "FP64", np.array([[0.25, 0.5, 0.25], [0.1, 0.2, 0.7]])),
    ("label", "INT64", np.array([1, 2])),
    ("tag", "BYTES", np.array(["gold", "s\u00e9"])),
]


def test_binary_and_json_outputs_in_one_response_as_the_triton_client_reads_them() -> None:
    body, size = encode_binary("m", "3", "req-1", PRODUCED, lambda name: name != "label")
    header = orjson.loads(body[:size])
    assert header["id"] == "req-1" and header["model_version"] == "3"
    assert header["outputs"][0] == {"name": "probabilities", "datatype": "FP64", "shape": [2, 3], "parameters": {"binary_data_size": 48}}
    assert header["outputs"][1] == {"name": "label", "datatype": "INT64", "shape": [2], "data": [1, 2]}
    result = triton.InferenceServerClient.parse_response_body(body, header_length=size)
    assert np.array_equal(result.as_numpy("probabilities"), PRODUCED[0][2])
    assert result.as_numpy("label").tolist() == [1, 2]
    assert [value.decode() for value in result.as_numpy("tag")] == ["gold", "s\u00e9"]
    assert len(body) == size + 48 + (4 + 4) + (4 + 3)
