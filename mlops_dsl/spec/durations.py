"""Durations written the way Prometheus writes them ("250ms", "5m", "1h30m").

Plain Python with no dependencies, so code that runs in an AWS Lambda
function (the retraining trigger) can use it as is.
"""

from __future__ import annotations

import re
from datetime import timedelta

# re.ASCII: a bare `\d` also takes other scripts' digits (Arabic-Indic, fullwidth); and fullmatch,
# as a `$` anchor also matches before a final newline. The pattern's text is
# also the JSON Schema's (where `\d` is ASCII), which the reference reads.
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)", re.ASCII)
PATTERN = re.compile(r"^(\d+(ms|s|m|h|d|w))+$", re.ASCII)
_MILLISECONDS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

MAX = timedelta(days=106_751)
"""The longest duration accepted: about what Go's ``time.Duration`` (int64 nanoseconds) holds, the type
Prometheus, Alertmanager and Kubernetes read durations into."""
MAX_TEXT = "106751d"


class DurationTooLongError(ValueError):
    """A well-formed duration longer than :data:`MAX`."""


def parse(text: str) -> timedelta:
    """Parse "1h30m" into a timedelta; raises ValueError for anything else (DurationTooLongError past :data:`MAX`)."""
    text = text.strip()
    if not PATTERN.fullmatch(text):
        raise ValueError(f"not a duration: {text!r}")
    # Whole milliseconds in integers: no float rounding, and no OverflowError
    # from timedelta for "99999999999999d" (that is refused as too long).
    total = sum(int(n) * _MILLISECONDS[unit] for n, unit in _PART.findall(text))
    if total > MAX // timedelta(milliseconds=1):
        raise DurationTooLongError(f"longer than {MAX_TEXT}: {text!r}")
    return timedelta(milliseconds=total)


def format(value: timedelta) -> str:
    """Render a timedelta as Prometheus would ("1h30m", "250ms")."""
    millis, rest = divmod(value, timedelta(milliseconds=1))
    if rest >= timedelta(microseconds=500):
        millis += 1  # rounded, in integers: exact however long the duration
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
