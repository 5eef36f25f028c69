"""The spec's 5-field cron schedules in EventBridge's 6-field syntax.

EventBridge writes ``cron(minutes hours day-of-month month day-of-week year)``,
needs ``?`` in one of the two day fields, and numbers weekdays from 1 (Sunday);
names (MON, TUE...) avoid that trap.
"""

from __future__ import annotations

WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}


class UnsupportedScheduleError(ValueError):
    """A cron expression EventBridge cannot express; the message says why."""


def _weekday(part: str) -> str:
    if part.isascii() and part.isdigit() and 0 <= int(part) <= 7:
        return WEEKDAYS[int(part)]
    if part.upper()[:3] in WEEKDAYS:
        return part.upper()[:3]
    raise UnsupportedScheduleError(f"day of week {part!r} has no EventBridge equivalent")


def _weekdays(field: str) -> str:
    if "/" in field:
        raise UnsupportedScheduleError(f"day of week {field!r}: EventBridge has no step over weekdays")
    items = []
    for item in field.split(","):
        if "-" in item:
            start, end = item.split("-", 1)
            items.append(f"{_weekday(start)}-{_weekday(end)}")
        else:
            items.append(_weekday(item))
    return ",".join(items)


def eventbridge_cron(expression: str) -> str:
    """``cron(...)`` for EventBridge from a 5-field cron expression (or @daily and friends)."""
    minute, hour, day, month, weekday = MACROS.get(expression.strip(), expression).split()
    if day != "*" and weekday != "*":
        raise UnsupportedScheduleError(f"{expression!r} restricts both the day of month and the day of week; EventBridge allows only one")
    if weekday == "*":
        return f"cron({minute} {hour} {day} {month} ? *)"
    return f"cron({minute} {hour} ? {month} {_weekdays(weekday)} *)"
