"""``mlops data check``: a data folder against the spec, one line per problem naming the source, file and column.

:func:`check` reads only the columns the spec needs (with :mod:`mlops_dsl.runtime.source_data`)
and reports every problem with what is allowed; labels stamped before every
feature row of their entity (a point-in-time join gives them nothing) are a
problem when all of a source's label rows are, and a warning otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pandas as pd

from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.runtime.source_data import (
    FileReport,
    read_csv_file,
    read_parquet_file,
    source_schema,
)
from mlops_dsl.runtime.state import StatePaths, default_state_dir, source_files, source_path
from mlops_dsl.spec.environment import LocalTarget
from mlops_dsl.spec.feature_store import Source
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of

Say = Callable[[str], None]

# --- the check -------------------------------------------------------------------------------


@dataclass
class SourceReport:
    """What the check found for one source."""

    source: Source
    folder: str
    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows over every file."""
        return sum(report.rows for report in self.files)

    def frame(self, names: Iterable[str]) -> pd.DataFrame | None:
        """The named columns over every file, or None if a file lacks one of them."""
        names = list(names)
        frames = [report.frame for report in self.files]
        if not frames or any(not set(names) <= set(frame.columns) for frame in frames):
            return None
        return pd.concat([frame[names] for frame in frames], ignore_index=True)


@dataclass
class CheckResult:
    """Every source's report, the problems (exit 2) and the warnings (printed, exit 0)."""

    sources: list[SourceReport]
    problems: list[Problem]
    warnings: list[Problem]


def check(spec: ResolvedSpec, data_root: Path) -> CheckResult:
    """Check every source's files under ``data_root`` against the spec."""
    platform = spec.platform
    store = platform.feature_store
    reports: list[SourceReport] = []
    for source in store.sources:
        folder = source_path(source, data_root)
        report = SourceReport(source, folder)
        reports.append(report)
        if "://" in source.path:
            continue  # a remote path: nothing to read here
        schema = source_schema(store, source, platform.models)
        files = source_files(source, data_root)
        if not files:
            report.problems.append(Problem(source.name, _no_files(source, Path(folder)), source=folder))
            continue
        for path in files:
            if source.format == "csv":
                file_report = read_csv_file(path, schema, columns=list(schema.columns))
            else:
                file_report = read_parquet_file(path, schema)
            report.files.append(file_report)
            report.problems += file_report.problems
    problems = [problem for report in reports for problem in report.problems]
    warnings: list[Problem] = []
    by_name = {report.source.name: report for report in reports}
    for model in platform.models:
        unjoined = _labels_before_features(spec, model, by_name)
        if unjoined is None:
            continue
        count, total, views = unjoined
        if not count:
            continue
        label_report = by_name[model.label.source]
        message = (
            f"{count} of {total} label row(s) of model {model.name} are stamped before the earliest feature row of their entity "
            f"in view(s) {', '.join(views)}, so a point-in-time join gives them no features; "
            "allowed: labels stamped at or after the features they are joined with"
        )
        problem = Problem(model.label.source, message, source=label_report.folder)
        (problems if count == total else warnings).append(problem)
    return CheckResult(reports, problems, warnings)


def _no_files(source: Source, folder: Path) -> str:
    other = "csv" if source.format == "parquet" else "parquet"
    found = len(list(folder.glob(f"*.{other}"))) if folder.is_dir() else 0
    where = "in this folder" if folder.is_dir() else "(it is a file)" if folder.exists() else "(the folder does not exist)"
    hint = f"; it holds {found} *.{other} file(s): set format={other!r} on the source, or convert them" if found else ""
    return f"got no *.{source.format} files {where}; allowed: one or more *.{source.format} files (the source's format){hint}"


def _labels_before_features(spec: ResolvedSpec, model: Model, reports: dict[str, SourceReport]) -> tuple[int, int, list[str]] | None:
    """Label rows of ``model`` that no feature row of their entity precedes (in one of its views), of all its label rows."""
    store = spec.platform.feature_store
    label_source = next(s for s in store.sources if s.name == model.label.source)
    keys_of = {e.name: e.join_key for e in store.entities}
    sources = {s.name: s for s in store.sources}
    views = [store.view(name) for name in dict.fromkeys(ref.partition(":")[0] for ref in model.features)]
    keys = list(dict.fromkeys(keys_of[e] for view in views if view is not None for e in view.entities))
    involved = {label_source.name, *(view.source for view in views if view is not None)}
    if any(file.unusable for name in involved for file in reports[name].files):
        return None  # keys or times that do not parse would be counted as unjoined: their problems say enough
    labels = reports[label_source.name].frame([*keys, label_source.timestamp_field])
    if labels is None or labels.empty:
        return None
    labels = labels.dropna().rename(columns={label_source.timestamp_field: "_label_time"})
    unjoined = pd.Series(False, index=labels.index)
    lacking: list[str] = []
    for view in views:
        if view is None:
            continue
        view_keys = [keys_of[e] for e in view.entities]
        time_field = sources[view.source].timestamp_field
        features = reports[view.source].frame([*view_keys, time_field])
        if features is None:
            return None
        earliest = features.dropna().groupby(view_keys, as_index=False)[time_field].min().rename(columns={time_field: "_first"})
        try:
            joined = labels.merge(_aligned(earliest, labels, view_keys), on=view_keys, how="left")
        except (ValueError, TypeError):
            return None  # keys of different types: reported with the columns
        missing = pd.Series((joined["_first"].isna() | (joined["_label_time"] < joined["_first"])).to_numpy(), index=labels.index)
        if missing.any():
            lacking.append(view.name)
        unjoined |= missing
    return int(unjoined.sum()), len(labels), lacking


def _aligned(frame: pd.DataFrame, like: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` with its key columns in the dtypes of ``like``'s (a Parquet int64 key meets a CSV Int64 one)."""
    return frame.astype({key: like[key].dtype for key in keys})


# --- the command ---------------------------------------------------------------------------------


def resolve_environment(spec_file: Path, environment: str | None) -> ResolvedSpec:
    """The environment to check: ``environment``, else the spec's only local one, else its only one."""
    resolved = load_platform(spec_file, environment=environment)
    if environment is not None:
        return resolved[environment]
    local = {name: spec for name, spec in resolved.items() if isinstance(spec.target, LocalTarget)}
    candidates = local or resolved
    if len(candidates) != 1:
        _refuse("--env", got_allowed(None, f"one of the spec's environments: {one_of(set(candidates))}"))
    return next(iter(candidates.values()))


def data_root_of(spec: ResolvedSpec, data_dir: str | None) -> Path:
    """The folder to check: ``--data-dir``, else a local environment's state directory's data root."""
    if data_dir is not None:
        root = Path(data_dir)
        if not root.is_dir():
            _refuse("--data-dir", got_allowed(data_dir, "an existing folder that holds the sources' files"))
        return root
    if not isinstance(spec.target, LocalTarget):
        reason = f"environment {spec.environment} targets {spec.target.kind}, whose data is not on this machine"
        _refuse("--data-dir", got_allowed(None, "the folder that holds the sources' files, under their spec paths", reason))
    root = StatePaths(default_state_dir(spec)).data_root
    if not root.is_dir():
        reason = f"{root} does not exist (run `mlops up`, or give --data-dir for a state directory elsewhere)"
        _refuse("--data-dir", got_allowed(None, "the folder that holds the sources' files, under their spec paths", reason))
    return root


def _refuse(option: str, message: str) -> NoReturn:
    raise SpecError([Problem(option, message, source="mlops data check")])


def run(spec_file: Path, environment: str | None, data_dir: str | None, say: Say) -> int:
    """``mlops data check``: a line per source, the warnings and a summary; raises :class:`SpecError` with the problems."""
    spec = resolve_environment(spec_file, environment)
    root = data_root_of(spec, data_dir)
    result = check(spec, root)
    for report in result.sources:
        if "://" in report.source.path:
            say(f"{report.source.name} ({report.source.format}): {report.folder} is remote; not checked here")
            continue
        files = len(report.files)
        say(
            f"{report.source.name} ({report.source.format}): {files} file{'' if files == 1 else 's'}, {report.rows} rows in {report.folder}"
        )
    for warning in result.warnings:
        say(f"warning: {warning.render()}")
    if result.problems:
        raise SpecError(result.problems)
    files = sum(len(report.files) for report in result.sources)
    rows = sum(report.rows for report in result.sources)
    warned = f" ({len(result.warnings)} warning{'' if len(result.warnings) == 1 else 's'})" if result.warnings else ""
    say(f"data check passed: {len(result.sources)} sources, {files} files, {rows} rows under {root}; no problems{warned}")
    return 0
