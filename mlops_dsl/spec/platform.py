"""The platform: one feature store, its models, their environments and notification channels."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from mlops_dsl.spec.base import Identifier, ImageRef, Name, SecretName, SpecModel, spec_error
from mlops_dsl.spec.environment import Environment, LocalTarget
from mlops_dsl.spec.feature_store import FeatureStore
from mlops_dsl.spec.monitoring import Alerting, Channel, Monitor
from mlops_dsl.spec.registry import Registry
from mlops_dsl.spec.retraining import Retraining
from mlops_dsl.spec.serving import Serving
from mlops_dsl.spec.training import Training


class Label(SpecModel):
    """Where a model's ground truth comes from: a column of a source.

    The label source's rows carry the entity join keys and a timestamp; they are
    the entity rows that training joins features onto (point in time), and the
    ground truth that quality monitors compare predictions with.
    """

    source: Identifier
    column: Identifier


class Model(SpecModel):
    """One model: its inputs, training, registry, serving, monitors and retraining policy."""

    name: Name
    description: str = ""
    task: Literal["classification", "regression"]
    features: list[str] = Field(min_length=1)
    label: Label
    training: Training
    registry: Registry = Field(default_factory=Registry)
    serving: Serving = Field(default_factory=Serving)
    monitors: list[Monitor] = Field(default_factory=list)
    retraining: Retraining = Field(default_factory=Retraining)


class RetrainingWebhook(SpecModel):
    """How Alertmanager (or EventBridge) authenticates to the retraining trigger.

    ``bearer`` sends the secret as a bearer token; ``hmac`` signs the body with
    it (an ``X-Signature: sha256=<hex>`` header).
    """

    auth: Literal["bearer", "hmac"] = "bearer"
    secret: SecretName = "retrainWebhookToken"


CODE_RULE = "a folder relative to the spec file, written with '/', such as 'src' or '../shared/ml' (not absolute, not empty)"
_CODE_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")


def _check_code(value: str) -> str:
    path = PurePosixPath(value)
    hidden = any(part.startswith(".") and part not in (".", "..") for part in path.parts)  # the targets skip hidden files
    if not _CODE_CHARACTERS.fullmatch(value) or path.is_absolute() or hidden:
        raise spec_error(CODE_RULE)
    return value


CodeFolder = Annotated[
    str,
    AfterValidator(_check_code),
    WithJsonSchema({"type": "string", "pattern": _CODE_CHARACTERS.pattern, "description": CODE_RULE}),
]
"""Where the team's code is, relative to the spec file (README "Bring your own model")."""


def _default_environments() -> dict[str, Environment]:
    return {"local": Environment(target=LocalTarget(), stage="dev")}


class Platform(SpecModel):
    """A whole MLOps platform, deployable to each of its environments."""

    name: Name
    description: str = ""
    image: ImageRef = "ghcr.io/mlops-dsl/runtime:0.1.0"
    code: CodeFolder | None = None
    """The team's own code (estimator factories, training functions, transformers), a folder relative to the spec.

    Every training run and model server imports from it, in every target: locally from a copy in the state
    directory, on Kubernetes from a ConfigMap mounted into each pod, on AWS from an archive in the artifacts
    bucket that each pipeline step receives. Each version records its content hash."""
    environments: dict[Name, Environment] = Field(default_factory=_default_environments, min_length=1)
    feature_store: FeatureStore
    models: list[Model] = Field(min_length=1)
    notifications: list[Channel] = Field(default_factory=list)
    alerting: Alerting = Field(default_factory=Alerting)
    retraining_webhook: RetrainingWebhook = Field(default_factory=RetrainingWebhook)

    def model(self, name: str) -> Model:
        """The model with this name."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def join_keys(self, model: Model) -> list[str]:
        """The entity join keys of a model: those of the entities of the feature views its features come from.

        Label rows carry them (training joins features onto them), and a
        request may send them with its features so captured predictions can be
        joined with labels later.
        """
        views = {ref.partition(":")[0] for ref in model.features}
        entities = {e for v in self.feature_store.feature_views if v.name in views for e in v.entities}
        return [e.join_key for e in self.feature_store.entities if e.name in entities]


__all__ = ["Label", "Model", "Platform", "RetrainingWebhook"]
