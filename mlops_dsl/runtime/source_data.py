"""A source's files read against the spec: the columns it must have, typed, with its times in UTC.

Every source's columns follow from the spec: the join keys of the entities of
the views reading it (typed by the entity's ``value_type``), its timestamp
field and created-timestamp field (timezone-aware times), each feature of
those views (typed by the feature's ``dtype``) and, for a label source, each
model's label column and the join keys of that model's entities.

CSV holds only text, so reading a CSV source casts those columns to their
types and parses its time fields as UTC (ISO 8601; a time without an offset
is taken as UTC, the way Feast takes a naive Parquet timestamp). The Parquet
mirror Feast reads a CSV source from (:mod:`mlops_dsl.runtime.features`), the
trainer's and the quality monitor's label reads all go through
:func:`read_source`, so a CSV column means the same everywhere; ``mlops data
check`` (:mod:`mlops_dsl.runtime.data_check`) reports what does not fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mlops_dsl.runtime.state import source_files, source_path
from mlops_dsl.spec.feature_store import Entity, FeatureStore, Source
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.problems import Problem, show

Kind = Literal["key", "time", "feature", "label"]

TIME_ALLOWED = "ISO 8601 times with a UTC offset, such as 2026-01-31T09:30:00Z or 2026-01-31 09:30:00+00:00"
# An offset after a time of day: a date alone ("2026-01-31") ends in "-31", which is no offset.
_OFFSET = r"[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_INT32 = (-(2**31), 2**31 - 1)
ALLOWED = {
    "int32": "whole numbers from -2147483648 to 2147483647",
    "int64": "whole numbers",
    "float32": "numbers",
    "float64": "numbers",
    "string": "text",
    "bool": "true, false, 1 or 0",
    "unix_timestamp": "ISO 8601 times",
}
PANDAS_TYPES = {
    "int32": "Int32",
    "int64": "Int64",
    "float32": "float32",
    "float64": "float64",
    "string": "object",
    "bool": "boolean",
    "unix_timestamp": "datetime64[ns, UTC]",
}


# --- what the spec needs of a source ------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column the spec needs of a source: its kind, its type (keys and features) and why it is needed."""

    name: str
    kind: Kind
    dtype: str | None
    role: str
    every_row: bool = False
    """Whether an empty value is a problem: a join key or the timestamp field is needed to join a row at all."""


@dataclass(frozen=True)
class SourceSchema:
    """A source and the columns the spec needs of it, by name (a column needed twice keeps its first role)."""

    source: Source
    columns: dict[str, Column]
    join_keys: dict[str, Column] = field(default_factory=dict)
    """Every entity's join key: typed wherever it appears, so keys read from different sources meet."""

    def typed(self) -> dict[str, Column]:
        """The columns cast when read: the needed join keys, times and features, then any other join key (labels stay as read)."""
        needed = {name: column for name, column in self.columns.items() if column.kind != "label"}
        return needed | {name: column for name, column in self.join_keys.items() if name not in self.columns}


def source_schema(store: FeatureStore, source: Source, models: Iterable[Model] = ()) -> SourceSchema:
    """What the spec needs of ``source``: for the views reading it and, as a label source, for ``models`` using it."""
    entities = {e.name: e for e in store.entities}
    columns: dict[str, Column] = {}

    def need(column: Column) -> None:
        columns.setdefault(column.name, column)

    views = [v for v in store.feature_views if v.source == source.name]
    for view in views:
        for name in view.entities:
            entity = entities[name]
            need(Column(entity.join_key, "key", entity.value_type, f"the join key of entity {entity.name} ({entity.value_type})", True))
    need(Column(source.timestamp_field, "time", None, "the timestamp field (a timezone-aware time)", True))
    if source.created_timestamp_field:
        need(Column(source.created_timestamp_field, "time", None, "the created-timestamp field (a timezone-aware time)"))
    for view in views:
        for feature in view.features:
            need(Column(feature.name, "feature", feature.dtype, f"a feature of view {view.name} ({feature.dtype})"))
    for model in models:
        if model.label.source != source.name:
            continue
        for entity in _model_entities(store, model):
            role = f"the join key of entity {entity.name} ({entity.value_type}), for model {model.name}"
            need(Column(entity.join_key, "key", entity.value_type, role, True))
        need(Column(model.label.column, "label", None, f"the label of model {model.name}"))
    keys = {
        e.join_key: Column(e.join_key, "key", e.value_type, f"the join key of entity {e.name} ({e.value_type})") for e in store.entities
    }
    for name, column in list(columns.items()):
        if column.kind == "feature" and name in keys:  # a feature named like a join key is that key
            columns[name] = Column(name, "key", keys[name].dtype, column.role, True)
    return SourceSchema(source, columns, keys)


def _model_entities(store: FeatureStore, model: Model) -> list[Entity]:
    views = {ref.partition(":")[0] for ref in model.features}
    names = {e for v in store.feature_views if v.name in views for e in v.entities}
    return [e for e in store.entities if e.name in names]


# --- reading one file ------------------------------------------------------------------


@dataclass
class FileReport:
    """One file read against its source's schema: its rows, the needed columns converted, and what is wrong."""

    path: Path
    rows: int = 0
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[Problem] = field(default_factory=list)
    unusable: list[Problem] = field(default_factory=list)
    """The problems that leave the file unusable as typed (unreadable, a column missing, values of the wrong type).

    The others (naive times, empty keys) Feast works around, so a mirror is still built.
    """

    def add(self, where: str, message: str, *, usable: bool = False) -> None:
        """Record a problem at ``where``: ``source.column``, or the source's name for the whole file."""
        problem = Problem(where, message, source=str(self.path))
        self.problems.append(problem)
        if not usable:
            self.unusable.append(problem)


def _where(fmt: str, index: int) -> str:
    return f"line {index + 2}" if fmt == "csv" else f"row {index + 1}"


def _first(values: pd.Series, mask: pd.Series) -> tuple[int, object]:
    position = int(np.flatnonzero(mask.to_numpy())[0])
    return position, values.iloc[position]


def convert(values: pd.Series, dtype: str) -> tuple[pd.Series, pd.Series]:
    """Text values cast to a spec type (nullable), and the mask of those that are given but do not fit it."""
    given = values.notna()
    if dtype == "string":
        return values.astype(object), pd.Series(False, index=values.index)
    if dtype == "bool":
        converted = values.str.strip().str.lower().map(_BOOLS).astype("boolean")
        return converted, given & converted.isna()
    if dtype == "unix_timestamp":
        times = parse_times(values)
        return times, given & times.isna()
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    if dtype in ("float32", "float64"):
        return numbers.astype(dtype), given & numbers.isna()
    floats = numbers.astype(float)
    finite = numbers.notna() & np.isfinite(floats) & (floats % 1 == 0)
    finite &= numbers.between(*_INT32) if dtype == "int32" else floats.abs() < 2.0**63
    misfit = given & ~finite
    return numbers.where(finite).astype(PANDAS_TYPES[dtype]), misfit


def parse_times(values: pd.Series) -> pd.Series:
    """ISO 8601 text as UTC times (a time without an offset is taken as UTC); NaT where it does not parse."""
    return pd.to_datetime(values.str.strip(), utc=True, format="ISO8601", errors="coerce")


def read_csv_file(path: Path, schema: SourceSchema, *, columns: Sequence[str] | None = None) -> FileReport:
    """A CSV file's ``columns`` (default: all), the schema's columns cast and checked (see :class:`FileReport`)."""
    report = FileReport(path)
    typed = schema.typed()
    wanted = None if columns is None else set(columns)
    try:
        with warnings.catch_warnings():
            # Every column is parsed (``usecols`` would hide a row with more fields than the header, such as an unquoted
            # comma in a value); a longer first row would otherwise become the index, so that is an error too.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            text = pd.read_csv(path, dtype={name: str for name in typed}, index_col=False)
    except (OSError, ValueError, pd.errors.ParserWarning) as error:
        reason = "a row has more fields than the header" if isinstance(error, pd.errors.ParserWarning) else _reason(error)
        report.add(schema.source.name, f"the file cannot be read ({reason}); allowed: a CSV file with a header row")
        return report
    report.rows = len(text)
    if wanted is not None:
        text = text[[name for name in text.columns if name in wanted]].copy()
    for name, needed in schema.columns.items():
        if name not in text.columns and (wanted is None or name in wanted):
            report.add(f"{schema.source.name}.{name}", f"the column is missing; allowed: a column {name!r}, {needed.role}")
    for name in text.columns:
        if name not in typed:
            continue  # a label or a column the spec does not name: as pandas reads it
        column = typed[name]
        values = text[name]
        where = f"{schema.source.name}.{name}"
        _empty_values(report, "csv", where, column, values)  # before casting: a value that does not fit is not empty
        if column.kind == "time":
            times = parse_times(values)
            bad = values.notna() & times.isna()
            if bad.any():
                at, value = _first(values, bad)
                report.add(
                    where, f"{int(bad.sum())} value(s) are not times, first {show(value)} ({_where('csv', at)}); allowed: {TIME_ALLOWED}"
                )
            naive = values.notna() & ~bad & ~values.str.contains(_OFFSET, regex=True, na=False)
            if naive.any():
                at, value = _first(values, naive)
                message = (
                    f"{int(naive.sum())} value(s) without a UTC offset, first {show(value)} ({_where('csv', at)}); allowed: {TIME_ALLOWED}"
                )
                report.add(where, message, usable=True)
            text[name] = times
        else:
            dtype = column.dtype or "string"
            converted, misfit = convert(values, dtype)
            if misfit.any():
                at, value = _first(values, misfit)
                report.add(where, _misfit(int(misfit.sum()), dtype, value, _where("csv", at)))
            text[name] = converted
    report.frame = text
    return report


def _misfit(count: int, dtype: str, first: object, where: str) -> str:
    return f"{count} value(s) do not fit {dtype}, first {show(first)} ({where}); allowed: {ALLOWED[dtype]}"


def _empty_values(report: FileReport, fmt: str, where: str, column: Column, values: pd.Series) -> None:
    if not column.every_row:
        return
    empty = values.isna()
    if empty.any():
        at = int(np.flatnonzero(empty.to_numpy())[0])
        report.add(
            where,
            f"{int(empty.sum())} empty value(s), first on {_where(fmt, at)}; allowed: a value in every row of {column.role}",
            usable=True,
        )


def read_parquet_file(path: Path, schema: SourceSchema) -> FileReport:
    """A Parquet file's schema columns, checked by type (times must carry a time zone) and, where the type allows, by value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    report = FileReport(path)
    try:
        with pq.ParquetFile(path) as file:
            arrow = file.schema_arrow
            report.rows = file.metadata.num_rows
            present = [name for name in schema.columns if name in arrow.names]
            frame = file.read(columns=present).to_pandas() if present else pd.DataFrame(index=range(report.rows))
    except (OSError, ValueError, pa.ArrowException) as error:
        report.add(schema.source.name, f"the file cannot be read ({_reason(error)}); allowed: a Parquet file")
        return report
    for name, column in schema.columns.items():
        where = f"{schema.source.name}.{name}"
        if name not in arrow.names:
            report.add(where, f"the column is missing; allowed: a column {name!r}, {column.role}")
            continue
        kind = arrow.field(name).type
        if column.kind == "time":
            if not pa.types.is_timestamp(kind):
                report.add(where, f"got {kind} values; allowed: a timestamp column with a time zone (such as timestamp[us, tz=UTC])")
                continue
            if kind.tz is None:
                message = f"got {kind} without a time zone; allowed: a timezone-aware timestamp (such as timestamp[us, tz=UTC])"
                report.add(where, message, usable=True)
                frame[name] = pd.to_datetime(frame[name]).dt.tz_localize("UTC")
            else:
                frame[name] = pd.to_datetime(frame[name], utc=True)
        elif column.kind in ("key", "feature"):
            dtype = column.dtype or "string"
            misfit = _parquet_misfit(frame[name], kind, dtype)
            if isinstance(misfit, str):
                report.add(where, f"got {kind} values; allowed: {dtype} ({ALLOWED[dtype]})")
                continue
            if misfit.any():
                at, value = _first(frame[name], misfit)
                report.add(where, _misfit(int(misfit.sum()), dtype, value, _where("parquet", at)))
        else:
            continue
        _empty_values(report, "parquet", where, column, frame[name])
    report.frame = frame
    return report


def _parquet_misfit(values: pd.Series, kind: object, dtype: str) -> pd.Series | str:
    """Values of a Parquet column that do not fit ``dtype``; a string when the column's type cannot hold it at all."""
    import pyarrow as pa

    none = pd.Series(False, index=values.index)
    integer, floating = pa.types.is_integer(kind), pa.types.is_floating(kind)
    if dtype in ("int32", "int64"):
        if not (integer or floating):
            return "type"
        numbers = values.astype(float)
        fits = numbers.isna() | ((numbers % 1 == 0) & np.isfinite(numbers))
        if dtype == "int32":
            fits &= numbers.isna() | numbers.between(*_INT32)
        return ~fits
    if dtype in ("float32", "float64"):
        return none if integer or floating else "type"
    if dtype == "string":
        return none if pa.types.is_string(kind) or pa.types.is_large_string(kind) else "type"
    if dtype == "bool":
        return none if pa.types.is_boolean(kind) else "type"
    return none if pa.types.is_timestamp(kind) else "type"


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# --- reading a source -------------------------------------------------------------------


class SourceDataError(ValueError):
    """A source's files cannot be used as the spec types them; carries one problem per reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.render() for problem in problems) + " (`mlops data check` lists every problem)")


def read_csv_source(schema: SourceSchema, files: Sequence[Path], *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """CSV files as one frame: the schema's columns cast, times as UTC; raises :class:`SourceDataError` if one is unusable."""
    reports = [read_csv_file(path, schema, columns=columns) for path in files]
    unusable = [problem for report in reports for problem in report.unusable]
    if unusable:
        raise SourceDataError(unusable)
    typed = {name: column for name, column in schema.typed().items() if name in schema.columns}
    empty = pd.DataFrame(
        {
            name: pd.Series(dtype="datetime64[ns, UTC]" if column.kind == "time" else PANDAS_TYPES[column.dtype or "string"])
            for name, column in typed.items()
            if columns is None or name in columns
        }
    )
    frames = [report.frame for report in reports if len(report.frame.columns)]
    if not frames:
        return empty
    frame = pd.concat(frames, ignore_index=True)
    for name in empty.columns:  # a column of only empty values in every file is read as text
        if name in frame.columns and frame[name].dtype != empty[name].dtype:
            frame[name] = frame[name].astype(empty[name].dtype)
    return frame


def plain(values: pd.Series) -> pd.Series:
    """A nullable column in the dtype pandas reads the same values from Parquet in: int or bool if full, float or object if not.

    The trainer's input matrix and Feast's joins expect NumPy dtypes, not pandas' nullable ones.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.BooleanDtype):
        return values.astype(object if values.isna().any() else bool)
    if isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype):
        return values.astype("float64" if values.isna().any() else dtype.numpy_dtype)
    return values


def read_source(store: FeatureStore, source: Source, data_root: Path | str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every file of a source as one frame, its time fields as UTC times and (CSV) its join keys and features typed.

    ``columns`` limits what is read (default: every column). Raises
    :class:`SourceDataError` (a ``ValueError``) when a file cannot be used,
    and ``FileNotFoundError`` when the source has no files of its format.
    """
    files = source_files(source, data_root)
    if not files:
        raise FileNotFoundError(f"no *.{source.format} files for source {source.name!r} in {source_path(source, data_root)}")
    schema = source_schema(store, source)
    if source.format == "csv":
        frame = read_csv_source(schema, files, columns=columns)
        return frame.apply(plain) if len(frame.columns) else frame
    frame = pd.concat([_read_parquet(path, columns) for path in files], ignore_index=True)
    for name, column in schema.typed().items():
        if column.kind == "time" and name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _read_parquet(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    """A Parquet file's ``columns`` that it has (pyarrow refuses to read a column it lacks; the caller names what is missing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as file:
            names = None if columns is None else [name for name in columns if name in file.schema_arrow.names]
            return file.read(columns=names).to_pandas()
    except pa.ArrowException as error:
        raise ValueError(f"{path}: {error}") from None
