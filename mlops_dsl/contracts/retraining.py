"""The decision: start a retraining run for this event, or skip it and say why.

Pure and shared by every place that triggers retraining: the runtime trigger
service (local and Kubernetes) and the AWS trigger function, which packages
this very file. Each supplies the history from its own durable store; the
rules live only here. It imports nothing beyond the standard library.

The order of the checks matters. An alert storm is mostly the same alert
repeated: those are duplicates. A different trigger while a run is going is
blocked by the concurrency limit; one after a run started but within the
cooldown, by the cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from mlops_dsl.spec.durations import format as format_duration

if TYPE_CHECKING:  # the AWS trigger function runs this module without pydantic installed
    from mlops_dsl.spec.retraining import Retraining


@dataclass(frozen=True)
class Limits:
    """The spec's limits for one model."""

    cooldown: timedelta
    dedup_window: timedelta
    max_concurrent_runs: int

    @classmethod
    def of(cls, retraining: Retraining) -> Limits:
        """The limits a model's retraining section declares."""
        return cls(retraining.cooldown, retraining.dedup_window, retraining.max_concurrent_runs)


@dataclass(frozen=True)
class Event:
    """Something that may start a run: which model, what triggered it, and when."""

    model: str
    trigger: str  # "alert:<name>", "schedule", "new_data:<source>", "manual"
    dedup_key: str
    at: datetime
    detail: str = ""

    @property
    def reason(self) -> str:
        """The trigger reason that travels with the run and into the version's lineage."""
        return f"{self.trigger} ({self.detail})" if self.detail else self.trigger


@dataclass(frozen=True)
class History:
    """What the store knows that bears on an event."""

    last_seen: datetime | None
    """When the same trigger (same dedup key) was last accepted."""
    last_started: datetime | None
    """When the model's last run started."""
    running: int
    """How many of the model's runs are going now."""


Action = Literal["start", "skip"]
Kind = Literal["started", "duplicate", "concurrency", "cooldown", "waiting"]  # waiting: too few new rows yet (AWS)


@dataclass(frozen=True)
class Decision:
    """Start or skip, with the reason in words and as a stable kind for metrics."""

    action: Action
    kind: Kind
    reason: str

    @property
    def counts_as_seen(self) -> bool:
        """Whether this event opens a new de-duplication window."""
        return self.kind != "duplicate"


def _ago(now: datetime, then: datetime) -> str:
    return format_duration(max(now - then, timedelta(seconds=1)))


def decide(event: Event, limits: Limits, history: History) -> Decision:
    """Whether ``event`` starts a run, given the model's limits and history."""
    now = event.at
    if history.last_seen is not None and now - history.last_seen < limits.dedup_window:
        return Decision(
            "skip",
            "duplicate",
            f"duplicate: the same trigger was accepted {_ago(now, history.last_seen)} ago, "
            f"within the {format_duration(limits.dedup_window)} de-duplication window",
        )
    if history.running >= limits.max_concurrent_runs:
        plural = "" if history.running == 1 else "s"
        return Decision(
            "skip",
            "concurrency",
            f"max concurrent runs reached: {history.running} run{plural} going, at most {limits.max_concurrent_runs} allowed",
        )
    if history.last_started is not None and now - history.last_started < limits.cooldown:
        return Decision(
            "skip",
            "cooldown",
            f"cooldown: the last run started {_ago(now, history.last_started)} ago, within the {format_duration(limits.cooldown)} cooldown",
        )
    return Decision("start", "started", f"started: {event.reason}")


State = Literal["running", "succeeded", "failed"]


@dataclass(frozen=True)
class RunRequest:
    """What a backend needs to start a run."""

    run_id: str
    model: str
    reason: str


@dataclass(frozen=True)
class RunState:
    """How a run is going, and how it ended once it has."""

    state: State
    outcome: str | None = None
    version: str | None = None
    detail: str | None = None


class Backend(Protocol):
    """Starts runs and reports on them."""

    def start(self, request: RunRequest) -> str:
        """Start a run; returns the backend's reference to it."""
        ...

    def status(self, run_id: str, reference: str) -> RunState:
        """How the run is going."""
        ...

    def active(self, model: str) -> int | None:
        """Runs of ``model`` the backend itself sees going (None if it cannot tell)."""
        ...
