"""Durations written the way Prometheus writes them ("250ms", "5m", "1h30m").

Plain Python with no dependencies, so code that runs in an AWS Lambda
function (the retraining trigger) can use it as is.
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
PATTERN = re.compile(r"^(\d+(ms|s|m|h|d|w))+$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse(text: str) -> timedelta:
    """Parse "1h30m" into a timedelta; raises ValueError for anything else."""
    if not PATTERN.match(text.strip()):
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text)))


def format(value: timedelta) -> str:
    """Render a timedelta as Prometheus would ("1h30m", "250ms")."""
    millis = round(value.total_seconds() * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
