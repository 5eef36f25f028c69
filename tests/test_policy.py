"""The retraining decision: de-duplication, concurrency and cooldown, in that order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops_dsl.contracts.retraining import Cause, Event, History, Limits, decide

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LIMITS = Limits(cooldown=timedelta(hours=6), dedup_window=timedelta(hours=1), max_concurrent_runs=1)


def event(trigger: str = "alert:drift") -> Event:
    return Event("churn", Cause.parse(trigger), NOW, "fired 11:59")


def test_a_fresh_trigger_starts_a_run_with_its_reason() -> None:
    decision = decide(event(), LIMITS, History(None, None, 0))
    assert (decision.action, decision.kind) == ("start", "started")
    assert decision.reason == "started: alert:drift (fired 11:59)"


def test_the_same_trigger_within_the_window_is_a_duplicate() -> None:
    decision = decide(event(), LIMITS, History(NOW - timedelta(minutes=59), NOW - timedelta(minutes=59), 1))
    assert decision.kind == "duplicate"
    assert "within the 1h de-duplication window" in decision.reason
    assert not decision.counts_as_seen


def test_after_the_window_a_running_run_blocks_a_second() -> None:
    decision = decide(event(), LIMITS, History(NOW - timedelta(hours=2), NOW - timedelta(hours=2), 1))
    assert decision.kind == "concurrency"
    assert decision.reason == "max concurrent runs reached: 1 run going, at most 1 allowed"


def test_a_different_trigger_during_the_cooldown_is_held_back() -> None:
    decision = decide(event("alert:quality"), LIMITS, History(None, NOW - timedelta(hours=5), 0))
    assert decision.kind == "cooldown"
    assert "the last run started 5h ago, within the 6h cooldown" in decision.reason


def test_after_the_cooldown_a_run_starts_again() -> None:
    assert decide(event(), LIMITS, History(NOW - timedelta(hours=7), NOW - timedelta(hours=6, seconds=1), 0)).kind == "started"


def test_more_concurrent_runs_when_the_spec_allows_them() -> None:
    limits = Limits(timedelta(0), timedelta(0), max_concurrent_runs=3)
    assert decide(event(), limits, History(None, NOW, 2)).kind == "started"
    assert decide(event(), limits, History(None, NOW, 3)).kind == "concurrency"


def test_a_cause_reads_back_as_it_is_written() -> None:
    for cause in (Cause.alert("churn-feature-drift"), Cause.new_data("churn_labels"), Cause("schedule"), Cause("manual")):
        assert Cause.parse(str(cause)) == cause
    assert str(Cause.alert("churn-quality")) == "alert:churn-quality"
    assert event("alert:churn-quality").dedup_key == "churn:alert:churn-quality"
    assert Event("churn", Cause("schedule"), NOW, "0 3 * * 1", occurrence="2026-01-05T03:00").dedup_key == "churn:schedule:2026-01-05T03:00"


def test_a_malformed_cause_is_refused() -> None:
    for text in ("alert", "alert:", "schedule:x", "deploy:now", ""):
        with pytest.raises(ValueError, match="not a retraining cause"):
            Cause.parse(text)
