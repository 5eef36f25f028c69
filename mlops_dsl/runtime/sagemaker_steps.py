"""What each SageMaker pipeline step runs: ``mlops sagemaker prepare|train|evaluate``.

SageMaker copies a step's S3 inputs into the container and uploads its outputs
afterwards, so each step reads and writes only local directories (under
``/opt/ml``). The steps reuse the reference trainer's functions, so the gate,
validation and lineage mean the same on every target.

- prepare (processing): a point-in-time join of the label rows with the
  feature groups' offline-store records, data validation, the split; writes
  train and test sets and the data snapshot hash.
- train (training): fits the spec's estimator (or runs the team's training
  function); writes the model, its input features, its training baseline and
  a copy of the team's code to ``/opt/ml/model``.
- evaluate (processing): metrics on the test rows, the gate (threshold, and
  the production model on the same rows when it must be beaten); writes
  ``evaluation.json`` for the pipeline's condition and a baseline data set
  (features and predictions) for Model Monitor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tarfile
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from mlops_dsl.loading.loader import ResolvedSpec, resolved_json
from mlops_dsl.runtime.baseline import Baseline, distribution
from mlops_dsl.runtime.code import deployed_code, describe, isolated, snapshot
from mlops_dsl.runtime.registry import CODE_ARTIFACT
from mlops_dsl.runtime.trainer import (
    DataValidationError,
    TeamCodeError,
    apply_gate,
    evaluate,
    fit_model,
    matrix,
    scores,
    snapshot_hash,
    split,
    validate,
)
from mlops_dsl.spec.feature_store import column_of
from mlops_dsl.spec.platform import Model

log = logging.getLogger("mlops.sagemaker")
OFFLINE_STORE_COLUMNS = ("write_time", "api_invocation_time", "is_deleted")


class StepFailedError(Exception):
    """The step cannot succeed (the pipeline stops here); the message says why."""


def read_table(folder: Path) -> pd.DataFrame:
    """Every parquet or CSV file under a folder, as one frame."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".parquet", ".csv") and p.is_file())
    if not files:
        raise StepFailedError(f"no parquet or CSV files under {folder}")
    return pd.concat([pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f) for f in files], ignore_index=True)


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def point_in_time(spec: ResolvedSpec, model: Model, root: Path) -> pd.DataFrame:
    """The label rows, each joined with the latest feature values at or before its time, within the view's TTL."""
    platform = spec.platform
    label_source = next(s for s in platform.feature_store.sources if s.name == model.label.source)
    labels = read_table(root / "input" / "labels")
    labels = labels.rename(columns={label_source.timestamp_field: "event_timestamp"})
    labels["event_timestamp"] = _utc(labels["event_timestamp"])
    frame = labels.sort_values("event_timestamp", kind="stable")
    keys_of = {e.name: e.join_key for e in platform.feature_store.entities}
    sources = {s.name: s for s in platform.feature_store.sources}
    for view_name in dict.fromkeys(ref.partition(":")[0] for ref in model.features):
        view = platform.feature_store.view(view_name)
        if view is None:
            raise StepFailedError(f"model {model.name} uses view {view_name}, which the spec does not declare")
        wanted = [column_of(ref) for ref in model.features if ref.startswith(f"{view_name}:")]
        keys = [keys_of[e] for e in view.entities]
        records = read_table(root / "input" / "features" / view.name)
        if "is_deleted" in records.columns:
            records = records[~records["is_deleted"].astype(bool)]
        time_field = sources[view.source].timestamp_field
        records = records.rename(columns={time_field: "feature_time"})[[*keys, "feature_time", *wanted]]
        records["feature_time"] = _utc(records["feature_time"])
        frame = pd.merge_asof(
            frame.sort_values("event_timestamp", kind="stable"),
            records.sort_values("feature_time", kind="stable"),
            left_on="event_timestamp",
            right_on="feature_time",
            by=keys,
            direction="backward",
            tolerance=pd.Timedelta(view.ttl),
        ).drop(columns=["feature_time"])
    return frame.sort_values("event_timestamp", kind="stable").reset_index(drop=True)


def prepare(spec: ResolvedSpec, model_name: str, root: Path) -> dict[str, Any]:
    """The processing step that builds, checks and splits the training set."""
    model = spec.platform.model(model_name)
    frame = point_in_time(spec, model, root)
    try:
        validate(frame, spec, model)
    except DataValidationError as error:
        raise StepFailedError(f"data validation failed: {error}") from None
    train_rows, test_rows = split(frame, model)
    for name, rows in (("train", train_rows), ("test", test_rows)):
        (root / name).mkdir(parents=True, exist_ok=True)
        rows.to_parquet(root / name / f"{name}.parquet", index=False)
    lineage = {"data_snapshot": snapshot_hash(frame), "rows": len(frame), "training_rows": len(train_rows), "test_rows": len(test_rows)}
    (root / "lineage").mkdir(parents=True, exist_ok=True)
    (root / "lineage" / "lineage.json").write_text(json.dumps(lineage))
    log.info("prepared %d rows (%d train, %d test), snapshot %s", len(frame), len(train_rows), len(test_rows), lineage["data_snapshot"])
    return lineage


def train(spec: ResolvedSpec, model_name: str, root: Path) -> Path:
    """The training step: fit the estimator and write the model directory SageMaker archives."""
    model = spec.platform.model(model_name)
    rows = read_table(root / "input" / "data" / "train")
    try:
        estimator = fit_model(model, rows, run_id=os.environ.get("TRAINING_JOB_NAME", model_name), trigger_reason="pipeline execution")
    except (ValueError, TeamCodeError) as error:
        raise StepFailedError(str(error)) from None
    x = matrix(rows, model.features)
    baseline = Baseline(
        features={column_of(ref): distribution(x[:, i]) for i, ref in enumerate(model.features)},
        prediction=distribution(scores(estimator, x)),
    )
    out = root / "model"
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, out / "model.joblib")
    (out / "features.json").write_text(json.dumps(list(model.features)))
    (out / "baseline.json").write_text(baseline.model_dump_json())
    folder = deployed_code(spec)
    code = describe(folder)
    (out / "metadata.json").write_text(
        json.dumps(
            {
                "model": model.name,
                "task": model.task,
                "estimator": model.training.estimator,
                "hyperparameters": model.training.hyperparameters,
                **({"code_hash": code.hash} if code is not None else {}),
            }
        )
    )
    if folder is not None:  # the endpoint imports the model's objects from the code it was trained with
        snapshot(folder, out / CODE_ARTIFACT)
    # The endpoint container serves from this directory alone, spec included (MLOPS_SPEC).
    (out / "platform.json").write_text(resolved_json(spec))
    return out


def load_model_dir(folder: Path) -> tuple[Any, list[str], dict[str, Any], Baseline]:
    """A model directory written by :func:`train`: estimator, features, metadata, baseline."""
    code = folder / CODE_ARTIFACT
    with isolated(code) if code.is_dir() else contextlib.nullcontext():
        estimator = joblib.load(folder / "model.joblib")
    return (
        estimator,
        json.loads((folder / "features.json").read_text()),
        json.loads((folder / "metadata.json").read_text()),
        Baseline.model_validate_json((folder / "baseline.json").read_text()),
    )


def _unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def evaluate_step(spec: ResolvedSpec, model_name: str, root: Path) -> dict[str, Any]:
    """The evaluation step: metrics, the gate verdict, and Model Monitor's baseline data set."""
    model = spec.platform.model(model_name)
    test_rows = read_table(root / "input" / "test")
    with tempfile.TemporaryDirectory() as scratch:
        estimator, features, _, _ = load_model_dir(_unpack(next((root / "input" / "model").glob("*.tar.gz")), Path(scratch) / "candidate"))
        y = test_rows[model.label.column].to_numpy()
        metrics = evaluate(estimator, matrix(test_rows, features), y, model.task)
        production = None
        production_archive = (
            next((root / "input" / "production").glob("*.tar.gz"), None) if (root / "input" / "production").is_dir() else None
        )
        if production_archive is not None:
            current, current_features, current_meta, _ = load_model_dir(_unpack(production_archive, Path(scratch) / "production"))
            if all(column_of(f) in test_rows.columns for f in current_features):
                production = (
                    str(current_meta.get("version", "production")),
                    evaluate(current, matrix(test_rows, current_features), y, model.task),
                )
    threshold_only = apply_gate(model, metrics, None)
    gate = apply_gate(model, metrics, production)
    # The pipeline's condition tests the threshold itself (on evaluation.json's metric); this flag
    # carries the comparison with production, which only this step can make.
    beats = not (threshold_only.passed and not gate.passed)
    lineage_file = root / "input" / "lineage" / "lineage.json"
    report = {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "gate": {**asdict(gate), "beats_production": bool(beats)},
        "lineage": json.loads(lineage_file.read_text()) if lineage_file.exists() else {},
    }
    (root / "evaluation").mkdir(parents=True, exist_ok=True)
    (root / "evaluation" / "evaluation.json").write_text(json.dumps(report, indent=2))
    # Model Monitor's baseline: the model's inputs and its output, as the endpoint will see them.
    baseline = test_rows[[column_of(f) for f in features]].copy()
    baseline["prediction"] = np.asarray(scores(estimator, matrix(test_rows, features)))
    (root / "baseline").mkdir(parents=True, exist_ok=True)
    baseline.to_csv(root / "baseline" / "baseline.csv", index=False)
    log.info("evaluated %s: %s", model.name, gate.reason)
    return report
