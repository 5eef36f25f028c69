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
from typing import TYPE_CHECKING, Literal, Protocol, get_args

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


CauseKind = Literal["alert", "schedule", "new_data", "manual"]


@dataclass(frozen=True)
class Cause:
    """What set an event off: an alert (by name), a schedule, new data (by source), or a person.

    It travels as text (``alert:<name>``, ``schedule``, ``new_data:<source>``, ``manual``)
    in decisions, runs and a version's lineage; :meth:`parse` reads that text back.
    """

    kind: CauseKind
    name: str = ""
    """The alert's or the source's name; empty for a schedule or a manual run."""

    @classmethod
    def alert(cls, name: str) -> Cause:
        """An alert (a monitor's name) that fired."""
        return cls("alert", name)

    @classmethod
    def new_data(cls, source: str) -> Cause:
        """New rows arrived in a source."""
        return cls("new_data", source)

    @classmethod
    def parse(cls, text: str) -> Cause:
        """The cause written as ``str(cause)``; a ValueError for anything else."""
        kind, _, name = text.partition(":")
        for known in get_args(CauseKind):
            if kind == known and bool(name) == (known in ("alert", "new_data")):
                return cls(known, name)
        raise ValueError(f"not a retraining cause: {text!r} (alert:<name>, schedule, new_data:<source> or manual)")

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


SCHEDULE = Cause("schedule")
MANUAL = Cause("manual")


@dataclass(frozen=True)
class Event:
    """Something that may start a run: which model, what caused it, and when."""

    model: str
    trigger: Cause
    at: datetime
    detail: str = ""
    occurrence: str = ""
    """What tells apart two firings of one trigger that are no duplicates (a schedule's due time, the
    newest file, a manual request's id); empty where every repeat inside the window is one (alerts)."""

    @property
    def dedup_key(self) -> str:
        """The key the de-duplication window is kept under."""
        key = f"{self.model}:{self.trigger}"
        return f"{key}:{self.occurrence}" if self.occurrence else key

    @property
    def reason(self) -> str:
        """The trigger reason that travels with the run and into the version's lineage."""
        return f"{self.trigger} ({self.detail})" if self.detail else str(self.trigger)


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
