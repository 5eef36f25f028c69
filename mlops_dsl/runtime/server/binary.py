"""The binary tensor data extension of the Open Inference Protocol, as Triton defines it and KServe adopted it.

It is what the Triton client sends by default (``InferInput.set_data_from_numpy``):

- a request with the header ``Inference-Header-Content-Length: n`` has a JSON
  header in the first ``n`` bytes of its body; each input whose parameters
  hold ``binary_data_size`` (and no ``data``) takes that many bytes, in input
  order, from the rest of the body. The bytes are the tensor's elements in
  row-major order, little-endian, in the datatype's own width (``BOOL`` one
  byte, 0 or 1; ``BYTES`` each element a 4-byte little-endian length and then
  its bytes). Every byte must belong to an input, and every size must agree
  with the input's shape and datatype, or the request is a 400 naming the
  input;
- an output goes back as binary data when the request asks: all outputs with
  the request's ``parameters.binary_data_output: true``, one output with its
  own ``parameters.binary_data`` (which wins either way). The response is then
  the JSON header, where those outputs have ``parameters.binary_data_size``
  and no ``data``, followed by their bytes in output order, sent as
  ``application/octet-stream`` with ``Inference-Header-Content-Length``.
  Otherwise the response is plain JSON.

A request without the header is plain JSON and never comes here
(:func:`protocol.decode`). For example, one ``[1, 2]`` FP64 input and
the probability asked back as binary::

    Inference-Header-Content-Length: 163
    {"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","parameters":{"binary_data_size":16}}],
     "outputs":[{"name":"probability","parameters":{"binary_data":true}}]}<16 bytes: two float64>

answered with ``Inference-Header-Content-Length: 143`` and::

    {"model_name":"churn","model_version":"1","outputs":[{"name":"probability","datatype":"FP64",
     "shape":[1],"parameters":{"binary_data_size":8}}]}<8 bytes: one float64>
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from mlops_dsl.runtime.server.protocol import DATATYPES, Inference, RequestError, decode_message, json_data

HEADER = "Inference-Header-Content-Length"
"""The HTTP header that gives the size of the JSON part of a body."""
OCTET_STREAM = "application/octet-stream"
_HEADER_KEY = HEADER.lower().encode("latin-1")

_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.uint8),  # checked to be 0 or 1, then viewed as bool
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_LENGTH = struct.Struct("<I")


def header_length(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The request's ``Inference-Header-Content-Length``, if it has one, from the ASGI scope's headers (names in lower case).

    Every JSON request asks, so this scans the few headers itself: Starlette's
    ``Headers.get`` raises and catches a KeyError for a header that is absent.
    """
    for name, value in headers:
        if name == _HEADER_KEY:
            return value.decode("latin-1")
    return None


def header_size(value: str, body_size: int) -> int:
    """The size of the JSON header that ``Inference-Header-Content-Length`` declares, checked against the body."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise RequestError(f"the {HEADER} header must be a number of bytes, got {value!r}")
    if len(text) > 18 or int(text) > body_size:  # 18 digits: larger than any body, and int() stays cheap
        shown = text if len(text) <= 20 else text[:20] + "..."
        raise RequestError(f"the {HEADER} header says the JSON header is {shown} bytes, but the whole body is {body_size}")
    return int(text)


def decode_binary(
    body: bytes, declared: str, features: list[str], *, max_rows: int, outputs: list[str], keys: Sequence[str] = ()
) -> Inference:
    """Decode a request with binary tensor data (``declared`` is its ``Inference-Header-Content-Length``)."""
    size = header_size(declared, len(body))
    view = memoryview(body)
    try:
        message = orjson.loads(view[:size])
    except orjson.JSONDecodeError as error:
        raise RequestError(f"the JSON header (the first {size} bytes of the body) is not valid JSON: {error}") from None
    attach_binary_data(message, view[size:])
    return decode_message(message, features, max_rows, outputs, keys)


def attach_binary_data(message: Any, binary: memoryview) -> None:
    """Give every input that declares ``binary_data_size`` its values from ``binary``, as its ``data``.

    A message that is not an object with a list of inputs is left for
    :func:`protocol.decode_message` to refuse with its usual message.
    """
    inputs = message.get("inputs") if isinstance(message, dict) else None
    if not isinstance(inputs, list):
        return
    offset = 0
    for index, item in enumerate(inputs):
        parameters = item.get("parameters") if isinstance(item, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        name = item.get("name") if isinstance(item.get("name"), str) else f"inputs[{index}]"
        size = parameters["binary_data_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RequestError(f"input {name!r}: parameters.binary_data_size must be a number of bytes, got {size!r}")
        if "data" in item:
            raise RequestError(f"input {name!r} has both 'data' and parameters.binary_data_size; send its values one way")
        left = len(binary) - offset
        if size > left:
            after = "the JSON header" if offset == 0 else "the JSON header and the inputs before it"
            raise RequestError(f"input {name!r}: parameters.binary_data_size is {size} bytes, but only {left} remain after {after}")
        shape, datatype = item.get("shape"), item.get("datatype")
        if _readable(shape, datatype):
            item["data"] = _values(name, shape, datatype, binary[offset : offset + size])
        # else no data: protocol.decode_message refuses the shape or datatype, with the message a JSON request gets
        offset += size
    if offset != len(binary):
        raise RequestError(
            f"the body has {len(binary) - offset} bytes after the JSON header that no input claims "
            f"(the inputs' binary_data_size add up to {offset} of {len(binary)})"
        )


def _readable(shape: Any, datatype: Any) -> bool:
    """Whether the bytes can be read with this shape and datatype (what protocol.decode_message checks of every input)."""
    return (
        datatype in DATATYPES
        and isinstance(shape, list)
        and bool(shape)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    )


def _values(name: str, shape: list[int], datatype: str, chunk: memoryview) -> np.ndarray | list[str]:
    """One input's values from its bytes: an array of its datatype, or text for BYTES."""
    count = math.prod(shape)
    if datatype == "BYTES":
        elements = _bytes_elements(name, chunk)
        if len(elements) != count:
            raise RequestError(f"input {name!r}: shape {shape} needs {count} BYTES elements, the binary data holds {len(elements)}")
        return elements
    dtype = _DTYPES[datatype]
    expected = count * dtype.itemsize
    if len(chunk) != expected:
        raise RequestError(
            f"input {name!r}: shape {shape} of {datatype} is {expected} bytes ({count} x {dtype.itemsize}), "
            f"but parameters.binary_data_size is {len(chunk)}"
        )
    values = np.frombuffer(chunk, dtype=dtype)
    if datatype == "BOOL":
        if values.size and values.max() > 1:
            raise RequestError(f"input {name!r}: a BOOL element is one byte, 0 or 1, got {int(values.max())}")
        return values.view(np.bool_)
    return values


def _bytes_elements(name: str, chunk: memoryview) -> list[str]:
    """A BYTES tensor's elements: each a 4-byte little-endian length, then that many bytes of UTF-8 text."""
    elements: list[str] = []
    offset, end = 0, len(chunk)
    while offset < end:
        if end - offset < _LENGTH.size:
            raise RequestError(f"input {name!r}: BYTES element {len(elements)} is cut off in its 4-byte length")
        (length,) = _LENGTH.unpack_from(chunk, offset)
        offset += _LENGTH.size
        if length > end - offset:
            raise RequestError(
                f"input {name!r}: BYTES element {len(elements)} says it is {length} bytes, but only {end - offset} are left of the input"
            )
        try:
            elements.append(str(chunk[offset : offset + length], "utf-8"))
        except UnicodeDecodeError:
            raise RequestError(f"input {name!r}: BYTES element {len(elements)} is not UTF-8 text") from None
        offset += length
    return elements


def _raw(datatype: str, values: np.ndarray) -> bytes:
    """An output's bytes: row-major, little-endian, in the datatype's width; BYTES length-prefixed."""
    if datatype == "BYTES":
        encoded = [str(value).encode() for value in values.ravel().tolist()]
        return b"".join(_LENGTH.pack(len(element)) + element for element in encoded)
    return np.ascontiguousarray(values, dtype=_DTYPES[datatype]).tobytes()


def encode_binary(
    model: str, version: str, request_id: str | None, outputs: list[tuple[str, str, np.ndarray]], binary: Callable[[str], bool]
) -> tuple[bytes, int]:
    """A response whose outputs named by ``binary`` follow the JSON header as bytes; returns the body and the header's size."""
    described: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, datatype, values in outputs:
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(values.shape)}
        if binary(name):
            chunks.append(_raw(datatype, values))
            tensor["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            tensor["data"] = json_data(datatype, values)
        described.append(tensor)
    message: dict[str, Any] = {"model_name": model, "model_version": version, "outputs": described}
    if request_id is not None:
        message["id"] = request_id
    header = orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY)
    return header + b"".join(chunks), len(header)
