"""The row count of a Parquet object in S3, read from its footer with two ranged GETs.

A Parquet file ends with its metadata (a Thrift ``FileMetaData`` struct in the
compact protocol), the metadata's length (4 bytes, little-endian) and the
magic ``PAR1``. ``num_rows`` is the struct's third field, after the format
version and the schema, so reading it means skipping the schema: this module
decodes just enough of the compact protocol to do that. It stays in the
standard library because it runs in the trigger function, whose package
holds no third-party code; the tests check it against files pyarrow writes.

A CSV object has no footer: its data rows are counted by streaming it through
the standard library's CSV reader (so a quoted field may hold line breaks),
header and blank lines excluded, reading at most :data:`MAX_CSV_BYTES`.
"""

from __future__ import annotations

import csv
import io
import struct
from typing import IO, Any

MAGIC = b"PAR1"
NUM_ROWS_FIELD = 3

# Thrift compact protocol type ids.
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)


class NotParquetError(ValueError):
    """The bytes are not a Parquet file's footer."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise NotParquetError("the footer ends in the middle of its metadata")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            value = self.byte()
            result |= (value & 0x7F) << shift
            if not value & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, kind: int) -> None:
        if kind in (TRUE, FALSE):
            return  # a struct field's boolean lives in its header
        if kind == BYTE:
            self.byte()
        elif kind in (I16, I32, I64):
            self.varint()
        elif kind == DOUBLE:
            self.at += 8
        elif kind == BINARY:
            length = self.varint()  # read first: `self.at += self.varint()` would add to the old position
            self.at += length
        elif kind in (LIST, SET):
            header = self.byte()
            size = header >> 4 if header >> 4 != 15 else self.varint()
            element = header & 0x0F
            for _ in range(size):
                if element in (TRUE, FALSE):
                    self.byte()  # in a collection, each boolean is a byte
                else:
                    self.skip(element)
        elif kind == MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4)
                    self.skip(types & 0x0F)
        elif kind == STRUCT:
            for _field, field_kind in self.fields():
                self.skip(field_kind)
        else:
            raise NotParquetError(f"unknown Thrift compact type {kind}")

    def fields(self) -> Any:
        """(field id, type) of each field of the struct being read, up to its stop byte."""
        last = 0
        while True:
            header = self.byte()
            kind = header & 0x0F
            if kind == STOP:
                return
            delta = header >> 4
            last = last + delta if delta else self.zigzag()
            yield last, kind


def footer_length(tail: bytes) -> int:
    """The metadata's length, from a file's last 8 bytes."""
    if len(tail) != 8 or tail[4:] != MAGIC:
        raise NotParquetError("the object does not end with Parquet's magic bytes")
    return int(struct.unpack("<I", tail[:4])[0])


def num_rows(metadata: bytes) -> int:
    """``FileMetaData.num_rows`` from the footer's metadata bytes."""
    reader = _Reader(metadata)
    for field, kind in reader.fields():
        if field == NUM_ROWS_FIELD:
            if kind != I64:
                raise NotParquetError(f"num_rows has Thrift type {kind}, not i64")
            return reader.zigzag()
        reader.skip(kind)
    raise NotParquetError("the metadata has no num_rows")


def object_rows(s3: Any, bucket: str, key: str) -> int:
    """The rows of a Parquet object, reading only its footer."""
    tail = s3.get_object(Bucket=bucket, Key=key, Range="bytes=-8")["Body"].read()
    length = footer_length(tail)
    metadata = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{length + 8}")["Body"].read()[:length]
    return num_rows(metadata)


MAX_CSV_BYTES = 256 * 1024 * 1024
"""The most of a CSV object read to count its rows: about five seconds of the trigger function's sixty.

Past it the count is of the rows that begin within the first this-many bytes:
a lower bound, which can delay a run waiting for ``min_new_rows`` but never
start one early.
"""


class NotCsvError(ValueError):
    """The bytes do not parse as CSV (a field longer than the CSV reader's limit, a NUL byte)."""


def csv_rows(stream: IO[bytes]) -> int:
    """The data rows of a CSV file read from ``stream``: its records, less the header, blank lines skipped.

    Decoded as Latin-1, which maps every byte to a character: quotes, commas and
    line breaks are the same bytes in UTF-8, so records split where they do in UTF-8.
    """
    text = io.TextIOWrapper(stream, encoding="latin-1", newline="")  # type: ignore[arg-type]
    try:
        return max(sum(1 for record in csv.reader(text) if record) - 1, 0)
    except csv.Error as error:
        raise NotCsvError(f"the object is not CSV ({error})") from None
    finally:
        text.detach()


def csv_object_rows(s3: Any, bucket: str, key: str, *, max_bytes: int = MAX_CSV_BYTES) -> tuple[int, bool]:
    """The data rows of a CSV object, streamed (at most ``max_bytes``), and whether it was read whole.

    Read in part, the last record may be cut, so it is not counted.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
    except Exception as error:  # botocore's ClientError; S3 refuses any range of an empty object
        if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "InvalidRange":
            return 0, True
        raise
    total = _object_size(response)
    whole = total is None or total <= max_bytes
    rows = csv_rows(response["Body"])
    return (rows if whole else max(rows - 1, 0)), whole


def _object_size(response: dict[str, Any]) -> int | None:
    """The object's full size, from a ranged GET's ``Content-Range: bytes 0-9/1234`` (None if not given)."""
    content_range = str(response.get("ContentRange") or "")
    size = content_range.rpartition("/")[2]
    return int(size) if size.isdigit() else None
