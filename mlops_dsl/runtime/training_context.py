"""What a team's training function gets: the contract of ``Training(entrypoint="module.function")``.

The platform does everything around the fit, the same way in every target:
it extracts the training set from the feature store (point in time), validates
it, splits it by time, then calls the team's function with a
:class:`TrainingContext` and takes back the fitted model, which it evaluates
on the held-out rows, gates, registers with lineage and promotes. A function
that raises ends the run as failed, with its message as the reason.

The returned model must be picklable and answer ``predict(x)`` (and, for a
classification model, ``predict_proba(x)`` with ``classes_``) where ``x`` is a
float matrix with one column per feature, in the order of ``Model.features``:
what the model server passes it in every target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlops_dsl.spec.feature_store import column_of
from mlops_dsl.spec.platform import Model


@dataclass(frozen=True)
class TrainingContext:
    """One training run, as the team's training function sees it."""

    model: Model
    """The model's spec (features, label, task, hyperparameters, the gate that will judge the result)."""
    train: pd.DataFrame
    """The training rows: each feature column (by its bare name), the entity join keys, ``event_timestamp`` and the label."""
    run_id: str
    trigger_reason: str
    estimator_factory: Callable[[], Any] | None = field(default=None, repr=False)

    @property
    def features(self) -> list[str]:
        """The input columns, in the order the model server passes them."""
        return [column_of(ref) for ref in self.model.features]

    @property
    def label(self) -> str:
        """The label column."""
        return self.model.label.column

    @property
    def task(self) -> str:
        """``classification`` or ``regression``."""
        return self.model.task

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """``training.hyperparameters`` as the spec declares them (for this environment)."""
        return dict(self.model.training.hyperparameters)

    @property
    def seed(self) -> int:
        """The split's seed, for anything random in the fit."""
        return self.model.training.split.seed

    @property
    def x(self) -> np.ndarray:
        """The training inputs as the model will be served them: floats, one column per feature."""
        return self.train[self.features].to_numpy(dtype=float)

    @property
    def y(self) -> np.ndarray:
        """The training labels."""
        return self.train[self.label].to_numpy()

    def estimator(self) -> Any:
        """``training.estimator`` built with the hyperparameters (unfitted), when the spec names one."""
        if self.estimator_factory is None:
            raise ValueError(f"model {self.model.name} declares no training.estimator to build")
        return self.estimator_factory()
