"""The Open Inference Protocol (KServe v2) REST messages: decode requests, encode responses.

A request names its input tensors; this server accepts either one tensor per
input feature (shape ``[N]`` or ``[N, 1]``, named after the feature) or a
single ``[N, F]`` tensor with the features in the model's order, as MLServer's
scikit-learn runtime does. Beside the features, a request may send the model's
entity join keys (``customer_id``), one ``[N]`` or ``[N, 1]`` tensor each, of an
integer type or ``BYTES``: they are not fed to the model, but data capture
records them so quality monitoring can join predictions with the labels that
arrive later. Every mistake is a :class:`RequestError` with one clear line and
a 4xx status, never a server error.

Tensor data may also come as raw bytes after a JSON header, and outputs go
back that way on request: the binary tensor data extension, in
:mod:`mlops_dsl.runtime.server.binary`, which hands this module the header
with each binary input's ``data`` already an array of the input's datatype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

NUMERIC = {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"}
DATATYPES = NUMERIC | {"BOOL", "BYTES"}
INTEGER = {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
FEATURE_DATATYPES = {
    "int32": "INT32",
    "int64": "INT64",
    "float32": "FP32",
    "float64": "FP64",
    "bool": "BOOL",
    "string": "BYTES",
    "unix_timestamp": "INT64",
}


class RequestError(Exception):
    """A request the server cannot serve as sent; ``status`` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Inference:
    """A decoded request: the input matrix (rows by model features), the entity keys sent with it, and what to send back."""

    rows: np.ndarray
    request_id: str | None
    outputs: list[str] | None
    parameters: dict[str, Any]
    keys: dict[str, list[Any]] = field(default_factory=dict)
    """Entity join key values by key name, one per row; only the keys the request sent."""
    binary_default: bool = False
    """Whether outputs go back as binary data unless they say otherwise (the request's ``parameters.binary_data_output``)."""
    binary_overrides: dict[str, bool] = field(default_factory=dict)
    """Requested outputs that say themselves whether they go back as binary data (their ``parameters.binary_data``)."""

    def wants_binary(self, output: str) -> bool:
        """Whether ``output`` goes back as binary data after the JSON header."""
        return self.binary_overrides.get(output, self.binary_default)


def _flatten(data: Any, name: str) -> list[Any] | np.ndarray:
    """The tensor's values in row-major order (the protocol allows flat or nested lists)."""
    if not isinstance(data, list):
        if isinstance(data, np.ndarray):  # binary data, read by binary.py: flat already, of the datatype
            return data
        raise RequestError(f"input {name!r}: 'data' must be a list, got {type(data).__name__}")
    if not any(isinstance(value, list) for value in data):
        return data
    flat: list[Any] = []
    for value in data:
        flat.extend(_flatten(value, name) if isinstance(value, list) else [value])
    return flat


_KINDS = {"BOOL": "b", **dict.fromkeys(INTEGER, "iu"), "FP16": "iuf", "FP32": "iuf", "FP64": "iuf"}


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: list[int]
    datatype: str
    values: list[Any] | np.ndarray
    """The values in row-major order: a list from JSON, an array of the datatype from binary data."""


def _parse(item: Any, index: int) -> _Tensor:
    """An input tensor's header and its values, flattened; the checks that hold for features and keys alike."""
    if not isinstance(item, dict):
        raise RequestError(f"inputs[{index}] must be an object with name, shape, datatype and data")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise RequestError(f"inputs[{index}]: 'name' is missing or not a string")
    shape = item.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise RequestError(f"input {name!r}: 'shape' must be a list of non-negative integers, got {shape!r}")
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise RequestError(f"input {name!r}: datatype {datatype!r} is not an Open Inference Protocol type ({', '.join(sorted(DATATYPES))})")
    if "data" not in item:
        if isinstance(item.get("parameters"), dict) and "binary_data_size" in item["parameters"]:
            raise RequestError(f"input {name!r} has binary data, but the request has no Inference-Header-Content-Length header")
        raise RequestError(f"input {name!r}: 'data' is missing")
    flat = _flatten(item["data"], name)
    expected = math.prod(shape)
    if len(flat) != expected:
        raise RequestError(f"input {name!r}: shape {shape} needs {expected} values, got {len(flat)}")
    return _Tensor(name, shape, datatype, flat)


def _feature(tensor: _Tensor) -> tuple[str, list[int], np.ndarray]:
    """A feature tensor as floats, the way the estimator takes it."""
    name, shape, datatype, flat = tensor.name, tensor.shape, tensor.datatype, tensor.values
    if datatype not in NUMERIC and datatype != "BOOL":
        raise RequestError(
            f"input {name!r}: datatype {datatype} is not allowed here; this model takes numeric inputs (FP64, FP32, INT64, ...)"
        )
    try:
        values = np.asarray(flat)
    except (ValueError, TypeError):
        values = np.asarray(flat, dtype=object)
    if values.size and values.dtype.kind not in _KINDS[datatype]:
        odd = next((v for v in flat if not isinstance(v, (int, float)) or (datatype in INTEGER and isinstance(v, float))), flat[0])
        raise RequestError(f"input {name!r}: datatype {datatype} does not match the value {odd!r}")
    return name, shape, values.astype(float, copy=False)


def _key(tensor: _Tensor) -> list[Any]:
    """An entity key tensor's values: integers or strings, one per row."""
    name, shape, datatype = tensor.name, tensor.shape, tensor.datatype
    if datatype not in INTEGER and datatype != "BYTES":
        raise RequestError(f"input {name!r} is an entity key: its datatype must be an integer type (INT64, ...) or BYTES, got {datatype}")
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise RequestError(f"input {name!r}: shape {shape} should be [N] or [N, 1] (one key per row)")
    values = tensor.values.tolist() if isinstance(tensor.values, np.ndarray) else tensor.values
    wanted = str if datatype == "BYTES" else int
    for value in values:
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise RequestError(f"input {name!r}: datatype {datatype} does not match the value {value!r}")
    return values


def decode(body: bytes, features: list[str], *, max_rows: int, outputs: list[str], keys: Sequence[str] = ()) -> Inference:
    """Decode and check an inference request against the model's input features and entity join keys."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(f"the body is not valid JSON: {error}") from None
    return decode_message(message, features, max_rows, outputs, keys)


def decode_message(message: Any, features: list[str], max_rows: int, outputs: list[str], keys: Sequence[str] = ()) -> Inference:
    """Check a request already parsed from JSON, as :func:`decode` does."""
    if not isinstance(message, dict):
        raise RequestError("the body must be a JSON object with an 'inputs' list")
    inputs = message.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError("'inputs' must be a non-empty list of tensors")
    key_names = [key for key in keys if key not in features]
    parsed = [_parse(item, i) for i, item in enumerate(inputs)]
    sent_keys = {tensor.name: _key(tensor) for tensor in parsed if tensor.name in key_names}
    tensors = [_feature(tensor) for tensor in parsed if tensor.name not in key_names]
    if len(tensors) == 1 and len(tensors[0][1]) == 2 and tensors[0][1][1] == len(features) and len(features) > 1:
        _name, shape, values = tensors[0]
        rows = values.reshape(shape[0], shape[1])
    else:
        rows = _by_feature(tensors, features, key_names)
    if rows.shape[0] == 0:
        raise RequestError("the request has no rows")
    if rows.shape[0] > max_rows:
        raise RequestError(f"the request has {rows.shape[0]} rows; at most {max_rows} are allowed", status=413)
    for name, key_values in sent_keys.items():
        if len(key_values) != rows.shape[0]:
            raise RequestError(f"input {name!r} has {len(key_values)} keys; the features have {rows.shape[0]} rows")
    wanted = message.get("outputs")
    requested = None
    overrides: dict[str, bool] = {}
    if wanted is not None:
        if not isinstance(wanted, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in wanted):
            raise RequestError("'outputs' must be a list of objects with a 'name'")
        requested = [o["name"] for o in wanted]
        unknown = [name for name in requested if name not in outputs]
        if unknown:
            raise RequestError(f"unknown output {unknown[0]!r}; allowed: {', '.join(outputs)}")
        for output in wanted:
            output_parameters = output.get("parameters")
            binary = output_parameters.get("binary_data") if isinstance(output_parameters, dict) else None
            if binary is not None:
                if not isinstance(binary, bool):
                    raise RequestError(f"output {output['name']!r}: parameters.binary_data must be true or false, got {binary!r}")
                overrides[output["name"]] = binary
    request_id = message.get("id")
    parameters = message.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RequestError("'parameters' must be an object")
    binary_default = parameters.get("binary_data_output", False)
    if binary_default is not False and binary_default is not True:
        raise RequestError(f"parameters.binary_data_output must be true or false, got {binary_default!r}")
    return Inference(rows, str(request_id) if request_id is not None else None, requested, parameters, sent_keys, binary_default, overrides)


def _by_feature(tensors: list[tuple[str, list[int], np.ndarray]], features: list[str], keys: list[str]) -> np.ndarray:
    given = {name: (shape, values) for name, shape, values in tensors}
    unknown = [name for name in given if name not in features]
    if unknown:
        allowed = f"one tensor per feature ({', '.join(features)}) or one [N, {len(features)}] tensor"
        if keys:
            allowed += f", plus optional entity keys ({', '.join(keys)})"
        raise RequestError(f"unknown input {unknown[0]!r}; allowed: {allowed}")
    missing = [name for name in features if name not in given]
    if missing:
        raise RequestError(f"missing input {missing[0]!r}; every feature is needed: {', '.join(features)}")
    lengths = set()
    for name, (shape, _) in given.items():
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise RequestError(f"input {name!r}: shape {shape} should be [N] or [N, 1]")
        lengths.add(shape[0])
    if len(lengths) != 1:
        raise RequestError(f"inputs disagree on the number of rows: {sorted(lengths)}")
    return np.column_stack([given[name][1] for name in features])


def encode(model: str, version: str, request_id: str | None, outputs: list[tuple[str, str, np.ndarray]]) -> bytes:
    """Encode an inference response."""
    message: dict[str, Any] = {
        "model_name": model,
        "model_version": version,
        "outputs": [
            # json_data, inlined: this is every JSON response's path
            {
                "name": name,
                "datatype": datatype,
                "shape": list(values.shape),
                "data": values.ravel().tolist() if datatype == "BYTES" else values.ravel(),
            }
            for name, datatype, values in outputs
        ],
    }
    if request_id is not None:
        message["id"] = request_id
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY)


def json_data(datatype: str, values: np.ndarray) -> Any:
    """An output's ``data``, flat, in a form orjson writes (it writes numeric numpy arrays itself, but not text)."""
    return values.ravel().tolist() if datatype == "BYTES" else values.ravel()


def error_body(message: str) -> bytes:
    """The protocol's error response: ``{"error": "..."}``."""
    return orjson.dumps({"error": message})
