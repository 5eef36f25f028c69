"""The reference training entrypoint: extract, validate, train, evaluate, gate, register, promote.

One run of one model, with the steps the spec's training pipeline names:

1. feature extraction: a point-in-time join from the feature store (Feast), with
   the label source's rows as the entity rows;
2. data validation: schema, row count, nulls and ranges;
3. training: the spec's scikit-learn estimator and hyperparameters, on a split
   by time (or at random);
4. evaluation on the held-out rows, and the gate: the threshold, and where the
   spec asks, beating the production version on the same rows;
5. registration with lineage (data snapshot hash, code version, parameters,
   metrics, trigger reason, training baseline), atomically;
6. promotion according to the approval mode; a candidate that fails the gate
   is recorded and never promoted.

The result is also written as JSON (``--result``) for the retraining
trigger, which reads it to learn how the run ended.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from mlops_dsl.contracts.environment import CODE_VERSION_ENV
from mlops_dsl.loading.estimators import EstimatorNotFoundError, resolve_entrypoint, resolve_estimator
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.runtime.baseline import Baseline, distribution
from mlops_dsl.runtime.code import deployed_code, describe
from mlops_dsl.runtime.registry import CANARY, PRODUCTION, GateResult, Lineage, ModelRegistry
from mlops_dsl.runtime.training_context import TrainingContext
from mlops_dsl.spec.feature_store import column_of as bare
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.training import LOWER_IS_BETTER

log = logging.getLogger("mlops.trainer")
CRASH_ENV = "MLOPS_TRAINER_CRASH_AT"
"""Fault injection for tests: the trainer kills itself (SIGKILL) at this step."""

Outcome = Literal["promoted", "canary", "pending_approval", "rejected", "invalid_data", "error"]


@dataclass
class TrainResult:
    """How a run ended."""

    run_id: str
    model: str
    status: Literal["succeeded", "failed"]
    outcome: Outcome
    reason: str
    trigger_reason: str
    version: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        """Write the result atomically (the trigger never reads half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self), indent=2))
        os.replace(partial, path)


class DataValidationError(Exception):
    """The training data failed the spec's checks; carries one line per failure."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("; ".join(failures))


def checkpoint(step: str) -> None:
    """A named point in a run, where a test may ask the trainer to die."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def code_version() -> str:
    """The platform's runtime this run trained with: MLOPS_CODE_VERSION (set when the image is built), or the package version.

    The team's own code is described apart, by its content hash (:mod:`mlops_dsl.runtime.code`).
    """
    explicit = os.environ.get(CODE_VERSION_ENV)
    if explicit:
        return explicit
    from mlops_dsl import __version__

    return f"mlops-dsl:{__version__}"


class TeamCodeError(Exception):
    """The team's estimator factory or training function failed; the message says which and how."""


# --- 1. feature extraction -------------------------------------------------------


def training_frame(spec: ResolvedSpec, model: Model, store: Any, data_root: Path) -> pd.DataFrame:
    """Point-in-time correct rows: the label source's rows, joined with the model's features."""
    from mlops_dsl.runtime.features import source_path
    from mlops_dsl.runtime.source_data import read_source

    platform = spec.platform
    label_source = next(s for s in platform.feature_store.sources if s.name == model.label.source)
    path = source_path(label_source, data_root)
    wanted = [*platform.join_keys(model), label_source.timestamp_field, model.label.column]
    try:
        labels = read_source(platform.feature_store, label_source, data_root, columns=wanted)
    except (OSError, ValueError) as error:
        raise DataValidationError([f"cannot read label source {label_source.name!r} at {path}: {error}"]) from None
    missing = [column for column in wanted if column not in labels.columns]
    if missing:
        raise DataValidationError([f"label source {label_source.name!r} lacks column(s) {', '.join(missing)}"])
    entity_rows = labels[wanted].rename(columns={label_source.timestamp_field: "event_timestamp"})
    frame = store.get_historical_features(entity_df=entity_rows, features=list(model.features)).to_df()
    return frame.sort_values("event_timestamp", kind="stable").reset_index(drop=True)


# --- 2. data validation --------------------------------------------------------------


def validate(frame: pd.DataFrame, spec: ResolvedSpec, model: Model) -> None:
    """Check schema, size, nulls and ranges; raise with every failure."""
    checks = model.training.data_validation
    dtypes = {f"{v.name}:{f.name}": f.dtype for v in spec.platform.feature_store.feature_views for f in v.features}
    failures = []
    if len(frame) < checks.min_rows:
        failures.append(f"{len(frame)} rows, fewer than min_rows {checks.min_rows}")
    for ref in model.features:
        column = bare(ref)
        if column not in frame.columns:
            failures.append(f"feature {ref} is missing from the training set")
            continue
        values = frame[column]
        numeric = dtypes[ref] not in ("string",)
        if numeric and not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            failures.append(f"feature {ref} should be {dtypes[ref]} but holds {values.dtype}")
            continue
        null_fraction = float(values.isna().mean()) if len(values) else 0.0
        if null_fraction > checks.max_null_fraction:
            failures.append(f"feature {ref} is {null_fraction:.1%} null, more than max_null_fraction {checks.max_null_fraction:.1%}")
    for name, bounds in checks.ranges.items():
        column = bare(name)
        if column not in frame.columns:
            continue
        values = frame[column].dropna()
        if bounds.min is not None and (values < bounds.min).any():
            failures.append(f"feature {column} has {(values < bounds.min).sum()} value(s) below {bounds.min}")
        if bounds.max is not None and (values > bounds.max).any():
            failures.append(f"feature {column} has {(values > bounds.max).sum()} value(s) above {bounds.max}")
    label = frame[model.label.column] if model.label.column in frame.columns else None
    if label is None:
        failures.append(f"label column {model.label.column} is missing")
    elif label.isna().any():
        failures.append(f"label column {model.label.column} has {int(label.isna().sum())} null value(s)")
    elif model.task == "classification" and label.nunique() < 2:
        failures.append(f"label column {model.label.column} has a single class; a classifier needs at least two")
    if failures:
        raise DataValidationError(failures)


def snapshot_hash(frame: pd.DataFrame) -> str:
    """A content hash of the exact training set (the data-version part of lineage)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return "sha256:" + hashlib.sha256(hashed.tobytes()).hexdigest()


# --- 3. training ----------------------------------------------------------------------------


def split(frame: pd.DataFrame, model: Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and test rows: the most recent rows are the test set when splitting by time."""
    settings = model.training.split
    test_size = max(1, round(len(frame) * settings.test_fraction))
    if settings.by_time:
        return frame.iloc[:-test_size], frame.iloc[-test_size:]
    shuffled = frame.sample(frac=1.0, random_state=settings.seed)
    return shuffled.iloc[test_size:], shuffled.iloc[:test_size]


def build_estimator(model: Model) -> Any:
    """Instantiate the spec's estimator class (or call its factory) with its hyperparameters."""
    path = model.training.estimator
    if path is None:
        raise ValueError(f"model {model.name} declares no training.estimator")
    name = path.rpartition(".")[2]
    try:
        estimator_class = resolve_estimator(path)  # as validate resolved it, with the team's code on the path
    except EstimatorNotFoundError as error:
        raise ValueError(f"training.estimator {path!r} cannot be imported: {error}") from None
    params = dict(model.training.hyperparameters)
    try:
        defaults = estimator_class().get_params()
    except Exception as error:
        raise TeamCodeError(f"training.estimator {path} raised {type(error).__name__}: {error}") from None
    if "random_state" in defaults and "random_state" not in params:
        params["random_state"] = model.training.split.seed
    try:
        return estimator_class(**params)
    except TypeError as error:
        raise ValueError(f"training.hyperparameters do not fit {name}: {error}") from None
    except Exception as error:
        raise TeamCodeError(f"training.estimator {path} raised {type(error).__name__}: {error}") from None


def fit_model(model: Model, train_rows: pd.DataFrame, *, run_id: str, trigger_reason: str) -> Any:
    """The fitted model: the estimator fitted on the training rows, or what the team's training function returns.

    Raises :class:`TeamCodeError` when the team's code fails or returns something that cannot be served,
    and ValueError for an estimator that cannot be built.
    """
    training = model.training
    if not training.custom:
        estimator = build_estimator(model)
        try:
            estimator.fit(matrix(train_rows, model.features), train_rows[model.label.column].to_numpy())
        except Exception as error:
            log.exception("fitting %s failed", training.estimator)
            raise TeamCodeError(f"fitting {training.estimator} raised {type(error).__name__}: {error}") from None
        return estimator
    try:
        function = resolve_entrypoint(training.entrypoint)
    except EstimatorNotFoundError as error:
        raise ValueError(f"training.entrypoint {training.entrypoint!r} cannot be imported: {error}") from None
    factory = (lambda: build_estimator(model)) if training.estimator is not None else None
    context = TrainingContext(model, train_rows.reset_index(drop=True), run_id, trigger_reason, factory)
    try:
        fitted = function(context)
    except Exception as error:
        log.exception("training function %s failed", training.entrypoint)
        raise TeamCodeError(f"training function {training.entrypoint} raised {type(error).__name__}: {error}") from None
    needs = ["predict", *(["predict_proba"] if model.task == "classification" else [])]
    lacking = [method for method in needs if not callable(getattr(fitted, method, None))]
    if lacking:
        raise TeamCodeError(
            f"training function {training.entrypoint} returned a {type(fitted).__name__}, which has no {' or '.join(lacking)} method"
        )
    return fitted


def training_parameters(model: Model) -> dict[str, Any]:
    """What a version records as its parameters: the estimator or training function, and the hyperparameters."""
    training = model.training
    which = {"estimator": training.estimator} if training.estimator is not None else {}
    if training.custom:
        which["entrypoint"] = training.entrypoint
    return {**which, **training.hyperparameters}


def matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The model's input matrix, columns in the order of its features."""
    return frame[[bare(ref) for ref in features]].to_numpy(dtype=float)


# --- 4. evaluation and gate -----------------------------------------------------------------


def scores(estimator: Any, x: np.ndarray) -> np.ndarray:
    """What the model outputs per row: the positive-class probability, or the regression value."""
    if hasattr(estimator, "predict_proba"):
        probabilities = estimator.predict_proba(x)
        return np.asarray(probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities.max(axis=1))
    return np.asarray(estimator.predict(x), dtype=float)


def evaluate(estimator: Any, x: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """Every metric of the task, on held-out rows."""
    if task == "regression":
        predicted = estimator.predict(x)
        return {
            "rmse": float(math.sqrt(sk.mean_squared_error(y, predicted))),
            "mae": float(sk.mean_absolute_error(y, predicted)),
            "r2": float(sk.r2_score(y, predicted)),
        }
    labels = estimator.predict(x)
    probabilities = estimator.predict_proba(x)
    binary = probabilities.shape[1] == 2
    average = "binary" if binary else "macro"
    result = {
        "accuracy": float(sk.accuracy_score(y, labels)),
        "f1": float(sk.f1_score(y, labels, average=average, zero_division=0)),
        "precision": float(sk.precision_score(y, labels, average=average, zero_division=0)),
        "recall": float(sk.recall_score(y, labels, average=average, zero_division=0)),
        "log_loss": float(sk.log_loss(y, probabilities, labels=estimator.classes_)),
    }
    if len(np.unique(y)) > 1:
        result["roc_auc"] = float(sk.roc_auc_score(y, probabilities[:, 1] if binary else probabilities, multi_class="ovr"))
    return result


def better(metric: str, candidate: float, reference: float, margin: float = 0.0) -> bool:
    """Whether ``candidate`` beats ``reference`` by at least ``margin`` on ``metric``."""
    if metric in LOWER_IS_BETTER:
        return candidate <= reference - margin
    return candidate >= reference + margin


def apply_gate(model: Model, metrics: dict[str, float], production_metrics: tuple[str, dict[str, float]] | None) -> GateResult:
    """The gate's verdict: threshold first, then (if asked) the production version on the same rows."""
    gate = model.training.gate
    if gate is None:
        return GateResult(True, "no gate declared")
    score = metrics.get(gate.metric)
    if score is None or math.isnan(score):
        return GateResult(False, f"{gate.metric} could not be computed on the test rows")
    if not better(gate.metric, score, gate.threshold):
        relation = "above the ceiling" if gate.metric in LOWER_IS_BETTER else "below the threshold"
        return GateResult(False, f"{gate.metric} {score:.4f} is {relation} {gate.threshold}")
    if gate.must_beat_production and production_metrics is not None:
        version, reference = production_metrics
        other = reference.get(gate.metric, float("nan"))
        if not math.isnan(other) and not better(gate.metric, score, other, gate.min_improvement):
            return GateResult(
                False,
                f"{gate.metric} {score:.4f} does not beat production v{version} ({other:.4f}) by {gate.min_improvement}",
                version,
                other,
            )
        return GateResult(
            True, f"{gate.metric} {score:.4f} passes {gate.threshold} and beats production v{version} ({other:.4f})", version, other
        )
    return GateResult(True, f"{gate.metric} {score:.4f} passes the threshold {gate.threshold}")


# --- the run ---------------------------------------------------------------------------------


def train(
    spec: ResolvedSpec,
    model_name: str,
    *,
    registry: ModelRegistry,
    store: Any,
    data_root: Path,
    trigger_reason: str,
    run_id: str,
) -> TrainResult:
    """Run the whole pipeline for one model and say how it ended."""
    model = spec.platform.model(model_name)

    def result(status: Literal["succeeded", "failed"], outcome: Outcome, reason: str, **extra: Any) -> TrainResult:
        return TrainResult(run_id, model_name, status, outcome, reason, trigger_reason, **extra)

    checkpoint("start")
    try:
        frame = training_frame(spec, model, store, data_root)
        checkpoint("extracted")
        validate(frame, spec, model)
    except DataValidationError as error:
        return result("failed", "invalid_data", f"data validation failed: {error}")
    checkpoint("validated")
    train_rows, test_rows = split(frame, model)
    try:
        estimator = fit_model(model, train_rows, run_id=run_id, trigger_reason=trigger_reason)
    except (ValueError, TeamCodeError) as error:
        return result("failed", "error", str(error))
    label = model.label.column
    checkpoint("trained")
    x_test, y_test = matrix(test_rows, model.features), test_rows[label].to_numpy()
    metrics = evaluate(estimator, x_test, y_test, model.task)
    production = registry.version_for(model_name, PRODUCTION)
    production_metrics = None
    if production is not None:
        current = registry.load(model_name, production.version)
        if all(bare(ref) in test_rows.columns for ref in current.features):
            production_metrics = (production.version, evaluate(current.estimator, matrix(test_rows, current.features), y_test, model.task))
    gate = apply_gate(model, metrics, production_metrics)
    checkpoint("evaluated")
    x_train = matrix(train_rows, model.features)
    baseline = Baseline(
        features={bare(ref): distribution(x_train[:, i]) for i, ref in enumerate(model.features)},
        prediction=distribution(scores(estimator, x_train)),
    )
    code_dir = deployed_code(spec)
    code = describe(code_dir)
    lineage = Lineage(
        data_snapshot=snapshot_hash(frame),
        code_version=code_version(),
        code_hash=code.hash if code is not None else None,
        code_commit=code.commit if code is not None else None,
        parameters=training_parameters(model),
        trigger_reason=trigger_reason,
        features=list(model.features),
        task=model.task,
        training_rows=len(train_rows),
    )
    info = registry.register(
        model_name,
        estimator,
        metrics=metrics,
        baseline=baseline,
        lineage=lineage,
        gate=gate,
        approval=model.registry.approval,
        code=code_dir,
        checkpoint=checkpoint,
    )
    if not gate.passed:
        return result("succeeded", "rejected", f"gate failed: {gate.reason}", version=info.version, metrics=metrics)
    if model.registry.approval == "manual":
        return result(
            "succeeded", "pending_approval", f"gate passed ({gate.reason}); awaiting manual approval", version=info.version, metrics=metrics
        )
    alias = CANARY if model.serving.canary is not None and production is not None else PRODUCTION
    registry.promote(model_name, info.version, alias)
    checkpoint("promoted")
    outcome: Outcome = "canary" if alias == CANARY else "promoted"
    return result("succeeded", outcome, f"gate passed ({gate.reason}); now {alias}", version=info.version, metrics=metrics)
