"""Retraining: what starts a new training run, and the limits that keep alert storms harmless."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from mlops_dsl.spec.base import MAX_COUNT, Cron, Duration, Identifier, Name, SpecModel


class OnAlert(SpecModel):
    """Retrain when the named monitor's alert fires."""

    kind: Literal["alert"] = "alert"
    alert: Name


class OnSchedule(SpecModel):
    """Retrain on a schedule (subject to the cooldown and concurrency limits)."""

    kind: Literal["schedule"] = "schedule"
    cron: Cron


class OnNewData(SpecModel):
    """Retrain when new files arrive under a source's path (for example, fresh labels)."""

    kind: Literal["new_data"] = "new_data"
    source: Identifier
    min_new_rows: StrictInt = Field(default=1, ge=1, le=MAX_COUNT)


Trigger = Annotated[OnAlert | OnSchedule | OnNewData, Field(discriminator="kind")]
"""A retraining trigger; the ``kind`` field tells which."""


class Retraining(SpecModel):
    """When to retrain, and the limits applied to every trigger.

    Notifications for the same trigger within ``dedup_window`` count once; no
    run starts within ``cooldown`` of the previous one; at most
    ``max_concurrent_runs`` runs of this model go at a time.
    """

    triggers: list[Trigger] = Field(default_factory=list)
    cooldown: Duration = timedelta(hours=6)
    dedup_window: Duration = timedelta(hours=1)
    max_concurrent_runs: StrictInt = Field(default=1, ge=1, le=10)


__all__ = ["OnAlert", "OnNewData", "OnSchedule", "Retraining", "Trigger"]
