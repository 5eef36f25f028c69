"""Training: the pipeline that turns feature store rows into a registered model version.

Every run goes through the same five steps: feature extraction (a
point-in-time join from the feature store), data validation, training,
evaluation against the gate, and registration with lineage. The spec says how
each step behaves; the targets run them as a local process, a Kubernetes Job
or a SageMaker Pipeline.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from mlops_dsl.spec.base import CpuQuantity, Cron, Duration, MemoryQuantity, SpecModel, spec_error

_IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


IMPORT_PATH_RULE = "a dotted import path to a scikit-learn style estimator, such as sklearn.linear_model.LogisticRegression"


def _check_import_path(value: str) -> str:
    if not _IMPORT_PATH.match(value):
        raise spec_error(IMPORT_PATH_RULE)
    return value


ImportPath = Annotated[
    str,
    AfterValidator(_check_import_path),
    WithJsonSchema({"type": "string", "pattern": _IMPORT_PATH.pattern, "description": IMPORT_PATH_RULE}),
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
    gpu: int = Field(default=0, ge=0, le=16)
    instance_type: str = "ml.m5.large"


class Range(SpecModel):
    """The values a numeric feature may take; a row outside fails data validation."""

    min: float | None = None
    max: float | None = None


class DataValidation(SpecModel):
    """The checks a training data set must pass before a model is trained on it.

    The schema check (columns and types from the feature views) is always on.
    """

    min_rows: int = Field(default=100, ge=1)
    max_null_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    ranges: dict[str, Range] = Field(default_factory=dict)


class Split(SpecModel):
    """How the data set is split into training and held-out test rows."""

    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = 42
    by_time: bool = True


class Gate(SpecModel):
    """The evaluation gate a candidate version must pass to be promoted.

    ``threshold`` is a floor for metrics where higher is better and a ceiling
    for ``log_loss``, ``rmse`` and ``mae``. With ``must_beat_production`` the
    candidate must also improve on the version in production by at least
    ``min_improvement``.
    """

    metric: Metric
    threshold: float
    must_beat_production: bool = True
    min_improvement: float = Field(default=0.0, ge=0.0)


BUILT_IN_TRAINER = "mlops_dsl.trainer"
"""The entrypoint that names the built-in trainer (``mlops train``, :mod:`mlops_dsl.runtime.trainer`); any
other value is a module a training Job runs as ``python -m <entrypoint>``."""


class Training(SpecModel):
    """How a model is trained: code, image, estimator, compute, data checks and gate."""

    entrypoint: str = Field(default=BUILT_IN_TRAINER, min_length=1)
    image: str | None = None
    estimator: ImportPath
    hyperparameters: dict[str, int | float | str | bool] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    data_validation: DataValidation = Field(default_factory=DataValidation)
    split: Split = Field(default_factory=Split)
    gate: Gate | None = None
    schedule: Cron | None = None
    timeout: Duration = timedelta(hours=2)


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
