"""Training: the pipeline that turns feature store rows into a registered model version.

Every run goes through the same five steps: feature extraction (a
point-in-time join from the feature store), data validation, training,
evaluation against the gate, and registration with lineage. The spec says how
each step behaves; the targets run them as a local process, a Kubernetes Job
or a SageMaker Pipeline.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, WithJsonSchema

from mlops_dsl.spec.base import (
    MAX_COUNT,
    CpuQuantity,
    Cron,
    Duration,
    ImageRef,
    MemoryQuantity,
    SpecModel,
    matching,
    spec_error,
)

_IMPORT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


IMPORT_PATH_RULE = "a dotted import path to a scikit-learn style estimator, such as sklearn.linear_model.LogisticRegression"


ImportPath = Annotated[
    str,
    AfterValidator(matching(_IMPORT_PATH, IMPORT_PATH_RULE)),
    WithJsonSchema({"type": "string", "pattern": _IMPORT_PATH.pattern, "description": IMPORT_PATH_RULE}),
]

_HYPERPARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,255}$")
HYPERPARAMETER_NAME_RULE = "a parameter name: a letter or '_', then letters, digits, '_', '.' or '-', at most 256 characters"
HYPERPARAMETER_RULE = "a valid integer, finite number, string or boolean"
"""(Integers within ±MAX_COUNT, which JSON and Pulumi carry exactly.)"""


def _check_hyperparameter(value: Any) -> Any:
    # One message for the union below, rather than one per branch it tried.
    if isinstance(value, (bool, str)) or (isinstance(value, int) and abs(value) <= MAX_COUNT):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise spec_error(HYPERPARAMETER_RULE)


HyperparameterName = Annotated[
    str,
    AfterValidator(matching(_HYPERPARAMETER_NAME, HYPERPARAMETER_NAME_RULE)),
    WithJsonSchema({"type": "string", "pattern": _HYPERPARAMETER_NAME.pattern, "description": HYPERPARAMETER_NAME_RULE}),
]
HyperparameterValue = Annotated[int | float | str | bool, BeforeValidator(_check_hyperparameter)]

_INSTANCE_TYPE = re.compile(r"^[a-z0-9]+(\.[a-z0-9-]+)+$")
INSTANCE_TYPE_RULE = "an instance type such as ml.m5.large"


InstanceType = Annotated[
    str,
    AfterValidator(matching(_INSTANCE_TYPE, INSTANCE_TYPE_RULE, max_length=64)),
    WithJsonSchema({"type": "string", "pattern": _INSTANCE_TYPE.pattern, "maxLength": 64, "description": INSTANCE_TYPE_RULE}),
]

Metric = Literal["accuracy", "roc_auc", "f1", "precision", "recall", "log_loss", "rmse", "mae", "r2"]

CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "roc_auc", "f1", "precision", "recall", "log_loss")
REGRESSION_METRICS: tuple[str, ...] = ("rmse", "mae", "r2")
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "rmse", "mae"})
PIPELINE_STEPS: tuple[str, ...] = ("extract_features", "validate_data", "train", "evaluate", "register")


class Resources(SpecModel):
    """Compute for one training job or serving replica.

    ``cpu``, ``memory`` and ``gpu`` size Kubernetes requests and limits and the
    local process; ``instance_type`` is the SageMaker instance used on AWS.
    """

    cpu: CpuQuantity = "1"
    memory: MemoryQuantity = "2Gi"
    gpu: StrictInt = Field(default=0, ge=0, le=16)
    instance_type: InstanceType = "ml.m5.large"


class Range(SpecModel):
    """The values a numeric feature may take; a row outside fails data validation."""

    min: StrictFloat | None = None
    max: StrictFloat | None = None


class DataValidation(SpecModel):
    """The checks a training data set must pass before a model is trained on it.

    The schema check (columns and types from the feature views) is always on.
    """

    min_rows: StrictInt = Field(default=100, ge=1, le=MAX_COUNT)
    max_null_fraction: StrictFloat = Field(default=0.0, ge=0.0, le=1.0)
    ranges: dict[str, Range] = Field(default_factory=dict)


class Split(SpecModel):
    """How the data set is split into training and held-out test rows."""

    test_fraction: StrictFloat = Field(default=0.2, gt=0.0, lt=1.0)
    seed: StrictInt = Field(default=42, ge=0, le=2**32 - 1)  # what NumPy and scikit-learn take as a random_state
    by_time: StrictBool = True


class Gate(SpecModel):
    """The evaluation gate a candidate version must pass to be promoted.

    ``threshold`` is a floor for metrics where higher is better and a ceiling
    for ``log_loss``, ``rmse`` and ``mae``. With ``must_beat_production`` the
    candidate must also improve on the version in production by at least
    ``min_improvement``.
    """

    metric: Metric
    threshold: StrictFloat
    must_beat_production: StrictBool = True
    min_improvement: StrictFloat = Field(default=0.0, ge=0.0)


BUILT_IN_TRAINER = "mlops_dsl.trainer"
"""The entrypoint that names the built-in trainer alone (``mlops train``, :mod:`mlops_dsl.runtime.trainer`)."""

ENTRYPOINT_RULE = (
    "'mlops_dsl.trainer' (the built-in trainer fits training.estimator), or a training function of the team's code "
    "as module.function, which gets a TrainingContext and returns the fitted estimator"
)
Entrypoint = Annotated[
    str,
    AfterValidator(matching(_IMPORT_PATH, ENTRYPOINT_RULE)),
    WithJsonSchema({"type": "string", "pattern": _IMPORT_PATH.pattern, "description": ENTRYPOINT_RULE}),
]


class Training(SpecModel):
    """How a model is trained: code, image, estimator, compute, data checks and gate.

    The platform always extracts the training set, validates it, splits it, evaluates the result on the
    held-out rows, applies the gate and registers the version. What fits the model is the team's choice:
    ``estimator`` names a scikit-learn estimator class, or a factory function of the team's code returning
    one (a Pipeline with preprocessing, say), built with ``hyperparameters``; or ``entrypoint`` names a
    training function of the team's code (``module.function``), called with a
    :class:`mlops_dsl.TrainingContext` in place of fitting the estimator, that returns the fitted model.
    """

    entrypoint: Entrypoint = BUILT_IN_TRAINER
    image: ImageRef | None = None
    estimator: ImportPath | None = None
    hyperparameters: dict[HyperparameterName, HyperparameterValue] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    data_validation: DataValidation = Field(default_factory=DataValidation)
    split: Split = Field(default_factory=Split)
    gate: Gate | None = None
    schedule: Cron | None = None
    timeout: Duration = timedelta(hours=2)

    @property
    def custom(self) -> bool:
        """Whether a training function of the team's code fits the model, rather than the built-in trainer."""
        return self.entrypoint != BUILT_IN_TRAINER


__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "PIPELINE_STEPS",
    "REGRESSION_METRICS",
    "DataValidation",
    "Gate",
    "Metric",
    "Range",
    "Resources",
    "Split",
    "Training",
]
