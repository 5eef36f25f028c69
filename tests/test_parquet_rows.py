"""Row counts from Parquet footers, checked against files pyarrow writes (and read from S3 through moto)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_dsl.aws.parquet_rows import NotParquetError, footer_length, num_rows, object_rows
from tests.helpers.moto import client


def parquet(table: pa.Table, **options: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def rows_of(data: bytes) -> int:
    length = footer_length(data[-8:])
    return num_rows(data[-8 - length : -8])


def wide(rows: int) -> pa.Table:
    """Every kind of column a schema can hold: strings, lists, maps, structs, booleans, decimals, timestamps."""
    return pa.table(
        {
            "customer_id": pa.array(range(rows), pa.int64()),
            "name": [f"customer-{i}" for i in range(rows)],
            "tags": [[i, i + 1] for i in range(rows)],
            "scores": pa.array([[("a", 1.5)]] * rows, pa.map_(pa.string(), pa.float64())),
            "address": [{"city": "Berlin", "zip": i} for i in range(rows)],
            "churned": [i % 2 == 0 for i in range(rows)],
            "balance": pa.array([1] * rows, pa.decimal128(12, 2)),
            "event_timestamp": pa.array([0] * rows, pa.timestamp("us", tz="UTC")),
        }
    )


@pytest.mark.parametrize("rows", [0, 1, 500, 70_000])
@pytest.mark.parametrize("options", [{}, {"row_group_size": 1000, "compression": "zstd"}, {"use_dictionary": False, "version": "1.0"}])
def test_the_count_matches_what_pyarrow_wrote(rows: int, options: dict[str, object]) -> None:
    data = parquet(wide(rows), **options)
    assert rows_of(data) == rows == pq.ParquetFile(io.BytesIO(data)).metadata.num_rows


def test_key_value_metadata_and_many_columns_do_not_confuse_it() -> None:
    table = pa.table({f"feature_{i}": list(range(37)) for i in range(300)}).replace_schema_metadata({"origin": "x" * 5000})
    assert rows_of(parquet(table)) == 37


@pytest.mark.parametrize("tail", [b"customer_id,churned\n1,0\n"[-8:], b"PAR1" + b"\x00" * 4, b"PAR1"])
def test_an_object_without_parquet_magic_is_refused(tail: bytes) -> None:
    with pytest.raises(NotParquetError, match="magic bytes"):
        footer_length(tail)


@pytest.mark.parametrize("metadata", [b"", b"\x15\x04\x00", b"\x15\x04\x19\x2c", b"\x15\x04\x1f"])
def test_metadata_that_is_cut_short_or_garbled_is_refused(metadata: bytes) -> None:
    with pytest.raises(NotParquetError):
        num_rows(metadata)


def test_a_footer_cut_inside_its_schema_is_refused() -> None:
    data = parquet(wide(10))
    length = footer_length(data[-8:])
    with pytest.raises(NotParquetError, match="ends in the middle"):
        num_rows(data[-8 - length : -8][:12])


def test_rows_are_read_from_s3_with_ranged_requests(endpoint: str) -> None:
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket="rows", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    data = parquet(wide(1234), row_group_size=100)
    s3.put_object(Bucket="rows", Key="raw/labels/part-1.parquet", Body=data)
    assert object_rows(s3, "rows", "raw/labels/part-1.parquet") == 1234
