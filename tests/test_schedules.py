"""Cron schedules as EventBridge writes them."""

from __future__ import annotations

import pytest

from mlops_dsl.spec.schedules import UnsupportedScheduleError, eventbridge_cron


@pytest.mark.parametrize(
    ("cron", "eventbridge"),
    [
        ("0 3 * * 1", "cron(0 3 ? * MON *)"),
        ("*/30 * * * *", "cron(*/30 * * * ? *)"),
        ("0 2 * * *", "cron(0 2 * * ? *)"),
        ("15 4 1 * *", "cron(15 4 1 * ? *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
        ("0 9 * * 0,6", "cron(0 9 ? * SUN,SAT *)"),
        ("0 9 * * 7", "cron(0 9 ? * SUN *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * SUN *)"),
    ],
)
def test_schedules_convert(cron: str, eventbridge: str) -> None:
    assert eventbridge_cron(cron) == eventbridge


@pytest.mark.parametrize(
    ("cron", "reason"), [("0 0 1 * 1", "both the day of month and the day of week"), ("0 0 * * */2", "no step over weekdays")]
)
def test_schedules_eventbridge_cannot_express(cron: str, reason: str) -> None:
    with pytest.raises(UnsupportedScheduleError, match=reason):
        eventbridge_cron(cron)
