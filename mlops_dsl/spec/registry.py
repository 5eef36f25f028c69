"""The model registry: how versions are approved and what each one records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from mlops_dsl.spec.base import MAX_COUNT, SpecModel

LineageField = Literal["data_snapshot", "code_version", "parameters", "metrics", "trigger_reason", "training_baseline"]
LINEAGE_FIELDS: tuple[LineageField, ...] = (
    "data_snapshot",
    "code_version",
    "parameters",
    "metrics",
    "trigger_reason",
    "training_baseline",
)


class Registry(SpecModel):
    """How a model's versions are promoted, and the lineage each version keeps.

    With ``approval="manual"`` a version that passes the gate waits for a person
    to approve it. With ``"automatic"`` it is promoted as soon as it passes the
    gate. A version that fails the gate is recorded and never promoted.
    """

    approval: Literal["manual", "automatic"] = "manual"
    lineage: list[LineageField] = Field(default_factory=lambda: list(LINEAGE_FIELDS), min_length=1)
    keep_versions: StrictInt = Field(default=50, ge=1, le=MAX_COUNT)
    tags: dict[str, str] = Field(default_factory=dict)


__all__ = ["LINEAGE_FIELDS", "LineageField", "Registry"]
