"""Model quality from ground truth: captured predictions joined with the labels that arrive later.

For each model with ``ModelQuality`` monitors, it reads the predictions that
data capture recorded within the monitor's window, with the entity keys the
requests sent (``customer_id``), and the model's label source. Each prediction
is joined to the first label of the same entity at or after the prediction's
time; a label from before it belongs to an earlier prediction. The monitor's
metric, computed with scikit-learn per served version, is exported as
``mlops_model_quality{model,metric,version}``, which the ``ModelQuality`` alert
rules select, but only once ``min_labels`` predictions have their label: a
score from a handful of rows would fire (or clear) an alert by chance. The
count of labelled predictions is ``mlops_model_quality_labels{model,version}``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sklearn.metrics as sk
from prometheus_client import CollectorRegistry, Gauge

from mlops_dsl.runtime.source_data import read_source
from mlops_dsl.runtime.state import source_path
from mlops_dsl.spec import durations
from mlops_dsl.spec.monitoring import ModelQuality
from mlops_dsl.spec.platform import Model, Platform

log = logging.getLogger("mlops.quality")

TIME = "time"
"""When the prediction was made (captured)."""
LABEL_TIME = "label_time"
"""When the label's outcome was recorded (the label source's timestamp field)."""
LABEL = "label_value"
"""The ground truth (named so it cannot clash with the server's ``label`` output)."""
OUTPUTS = ("probability", "label", "prediction")
"""The server's outputs: a classifier's positive-class probability and class, or a regressor's prediction."""


class UndefinedMetricError(Exception):
    """The metric cannot be computed honestly from the rows at hand; the message says why."""


@dataclass(frozen=True)
class QualityReading:
    """One quality monitor on one served version: the metric's value, if it has one, and the labels behind it."""

    model: str
    version: str
    monitor: str
    metric: str
    value: float | None
    """None while the metric is not exported (``note`` says why)."""
    labelled: int
    """Captured predictions within the window that have their label."""
    min_labels: int
    threshold: float
    window: str
    note: str = ""


def _records(folder: Path, since: datetime) -> Iterator[dict[str, Any]]:
    """Captured records from the day files that can hold records since ``since``."""
    first_day = f"{since:%Y-%m-%d}"
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        if path.stem < first_day:
            continue
        for line in path.read_bytes().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # the line the server is writing right now
            if isinstance(record, dict):
                yield record


def captured_predictions(folder: Path, keys: list[str], since: datetime) -> pd.DataFrame:
    """Captured predictions since ``since``, one row each: time, version, entity keys (as text) and the outputs.

    A record without every key or without outputs cannot meet a label, so it is
    skipped.
    """
    columns: dict[str, list[Any]] = {TIME: [], "version": [], **{key: [] for key in keys}, **{out: [] for out in OUTPUTS}}
    for record in _records(folder, since):
        sent, outputs = record.get("keys") or {}, record.get("outputs") or {}
        if not keys or not outputs or any(key not in sent for key in keys):
            continue
        try:
            when = datetime.fromisoformat(record["time"])
        except (KeyError, TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        rows = len(sent[keys[0]])
        if when < since or any(len(sent[key]) != rows for key in keys) or any(len(v) != rows for v in outputs.values()):
            continue
        columns[TIME].extend([when] * rows)
        columns["version"].extend([str(record.get("version"))] * rows)
        for key in keys:
            columns[key].extend(str(value) for value in sent[key])
        for out in OUTPUTS:
            columns[out].extend(outputs.get(out) or [None] * rows)
    frame = pd.DataFrame(columns)
    frame[TIME] = pd.to_datetime(frame[TIME], utc=True).astype("datetime64[ns, UTC]")
    return frame


def _key_text(values: pd.Series) -> pd.Series:
    """Key values as text, so integer keys in a request meet integer (or float-stored) keys in the labels."""
    if pd.api.types.is_float_dtype(values) and bool((values == values.round()).all()):
        values = values.astype("int64")
    return values.astype(str)


def read_labels(platform: Platform, model: Model, data_root: Path) -> pd.DataFrame:
    """The model's label source: entity keys (as text), the label's time, and the label."""
    source = next(s for s in platform.feature_store.sources if s.name == model.label.source)
    path = source_path(source, data_root)
    keys = platform.join_keys(model)
    wanted = [*keys, source.timestamp_field, model.label.column]
    try:
        # CSV too: every *.csv file of the source, its times parsed as UTC (mlops_dsl.runtime.data_check).
        raw = read_source(platform.feature_store, source, data_root, columns=wanted)
    except (OSError, ValueError) as error:
        raise UndefinedMetricError(f"cannot read label source {source.name!r} at {path}: {error}") from None
    missing = [column for column in wanted if column not in raw.columns]
    if missing:
        raise UndefinedMetricError(f"label source {source.name!r} lacks column(s) {', '.join(missing)}")
    labels = raw[wanted].dropna().rename(columns={source.timestamp_field: LABEL_TIME, model.label.column: LABEL})
    for key in keys:
        labels[key] = _key_text(labels[key])
    labels[LABEL_TIME] = pd.to_datetime(labels[LABEL_TIME], utc=True).astype("datetime64[ns, UTC]")
    return labels.reset_index(drop=True)


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Each prediction with the first label of its entity at or after its time; predictions with none are dropped."""
    if predictions.empty or labels.empty:
        return predictions.assign(**{LABEL_TIME: pd.Series(dtype="datetime64[ns, UTC]"), LABEL: pd.Series(dtype=float)}).iloc[0:0]
    joined = pd.merge_asof(
        predictions.sort_values(TIME, kind="stable"),
        labels.sort_values(LABEL_TIME, kind="stable"),
        left_on=TIME,
        right_on=LABEL_TIME,
        by=keys,
        direction="forward",
        allow_exact_matches=True,
    )
    return joined.dropna(subset=[LABEL]).reset_index(drop=True)


def _classes(values: pd.Series) -> np.ndarray:
    """Class labels as the server reports them (integers), whether the label source stores ints, floats or bools."""
    array = values.to_numpy()
    if array.dtype.kind == "b" or (array.dtype.kind == "f" and np.all(array == np.round(array))):
        return array.astype(np.int64)
    return array


def metric_value(metric: str, joined: pd.DataFrame, task: str) -> float:
    """The metric on labelled predictions, as scikit-learn computes it; raises :class:`UndefinedMetricError` if it is undefined."""
    if task == "regression":
        truth, predicted = joined[LABEL].to_numpy(dtype=float), joined["prediction"].to_numpy(dtype=float)
        if metric == "rmse":
            value = math.sqrt(sk.mean_squared_error(truth, predicted))
        elif metric == "mae":
            value = float(sk.mean_absolute_error(truth, predicted))
        else:
            value = float(sk.r2_score(truth, predicted, force_finite=False))
        if math.isnan(value):
            raise UndefinedMetricError(f"{metric} is undefined on these rows (every label is the same)")
        return value
    truth, predicted = _classes(joined[LABEL]), _classes(joined["label"])
    classes = sorted(set(truth.tolist()) | set(predicted.tolist()))
    if metric == "accuracy":
        return float(sk.accuracy_score(truth, predicted))
    if metric in ("roc_auc", "log_loss"):
        if len(classes) > 2:
            raise UndefinedMetricError(
                f"{metric} needs a binary model; the server reports only the top class's probability of a multiclass one"
            )
        if metric == "roc_auc" and len(set(truth.tolist())) < 2:
            raise UndefinedMetricError(f"roc_auc needs both classes among the labels; every label is {truth.tolist()[0]!r}")
        if len(classes) < 2:
            raise UndefinedMetricError(f"{metric} needs both classes among labels and predictions; all are {classes[0]!r}")
        probability = joined["probability"].to_numpy(dtype=float)
        if metric == "roc_auc":
            return float(sk.roc_auc_score(truth == classes[1], probability))
        return float(sk.log_loss(truth, probability, labels=classes))
    if len(classes) < 2:
        raise UndefinedMetricError(f"{metric} needs both classes among labels and predictions; all are {classes[0]!r}")
    score = {"f1": sk.f1_score, "precision": sk.precision_score, "recall": sk.recall_score}[metric]
    binary = len(classes) == 2
    value = float(
        score(truth, predicted, average="binary" if binary else "macro", pos_label=classes[-1] if binary else 1, zero_division=np.nan)
    )
    if math.isnan(value):
        raise UndefinedMetricError(
            f"{metric} is undefined on these rows (no positive {'predictions' if metric == 'precision' else 'labels'})"
        )
    return value


class QualityMonitor:
    """Computes and exports the quality metric of every ``ModelQuality`` monitor in the spec.

    ``served`` names the versions of a model that serve now (production and
    canary); a version that stops serving loses its series. Monitors of one
    model with the same metric share a series: the first of them in the spec
    decides its value.
    """

    def __init__(
        self,
        platform: Platform,
        capture_root: Path,
        data_root: Path,
        metrics: CollectorRegistry,
        served: Callable[[str], Iterable[str]],
    ) -> None:
        self.platform = platform
        self.capture_root = capture_root
        self.data_root = data_root
        self.served = served
        self.quality = Gauge(
            "mlops_model_quality",
            "A model quality metric on captured predictions joined with their ground-truth labels.",
            ["model", "metric", "version"],
            registry=metrics,
        )
        self.labels = Gauge(
            "mlops_model_quality_labels",
            "Captured predictions that have their ground-truth label, within the widest quality window.",
            ["model", "version"],
            registry=metrics,
        )
        self.evaluated = Gauge("mlops_quality_last_evaluation_timestamp_seconds", "When model quality was last computed.", registry=metrics)
        self.readings: list[QualityReading] = []
        self._exported: set[tuple[str, str, str]] = set()
        self._counted: set[tuple[str, str]] = set()
        self._stop = threading.Event()

    def evaluate(self, now: datetime | None = None) -> list[QualityReading]:
        """One round: every quality monitor of every model, on each version it serves."""
        now = now or datetime.now(UTC)
        readings: list[QualityReading] = []
        exported: set[tuple[str, str, str]] = set()
        counted: set[tuple[str, str]] = set()
        for model in self.platform.models:
            monitors = [m for m in model.monitors if isinstance(m, ModelQuality)]
            if not monitors:
                continue
            joined, problem = self._joined(model, now - max(m.window for m in monitors))
            for version in sorted(set(self.served(model.name))):
                rows = joined[joined["version"] == version]
                self.labels.labels(model.name, version).set(len(rows))
                counted.add((model.name, version))
                decided: set[str] = set()
                for monitor in monitors:
                    reading = self._reading(model, version, monitor, rows[rows[TIME] >= pd.Timestamp(now - monitor.window)], problem)
                    readings.append(reading)
                    if monitor.metric in decided:
                        continue
                    decided.add(monitor.metric)
                    if reading.value is not None:
                        self.quality.labels(model.name, monitor.metric, version).set(reading.value)
                        exported.add((model.name, monitor.metric, version))
        # Remove only what is gone: clearing and setting again would let a scrape see no series and reset a pending alert.
        for labels in self._exported - exported:
            self.quality.remove(*labels)
        for version_labels in self._counted - counted:
            self.labels.remove(*version_labels)
        self._exported, self._counted = exported, counted
        self.readings = readings
        self.evaluated.set_to_current_time()
        return readings

    def _joined(self, model: Model, since: datetime) -> tuple[pd.DataFrame, str]:
        keys = self.platform.join_keys(model)
        predictions = captured_predictions(self.capture_root / model.name, keys, since)
        try:
            labels = read_labels(self.platform, model, self.data_root)
        except UndefinedMetricError as error:
            return predictions.iloc[0:0].assign(**{LABEL: pd.Series(dtype=float)}), str(error)
        return join_labels(predictions, labels, keys), ""

    def _reading(self, model: Model, version: str, monitor: ModelQuality, rows: pd.DataFrame, problem: str) -> QualityReading:
        labelled = len(rows)
        value: float | None = None
        note = problem
        if not note and labelled < monitor.min_labels:
            note = f"{labelled} labelled predictions; at least {monitor.min_labels} (min_labels) are needed"
        if not note:
            try:
                value = metric_value(monitor.metric, rows, model.task)
            except UndefinedMetricError as error:
                note = str(error)
        return QualityReading(
            model.name,
            version,
            monitor.name,
            monitor.metric,
            value,
            labelled,
            monitor.min_labels,
            monitor.threshold,
            durations.format(monitor.window),
            note,
        )

    def run(self, interval: float) -> None:
        """Evaluate every ``interval`` seconds until stopped."""
        while not self._stop.is_set():
            try:
                for reading in self.evaluate():
                    log.debug("%s", reading)
            except Exception:
                log.exception("quality evaluation failed; trying again next round")
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
