"""The base of every spec model, and the value types the spec shares.

Spec models are declared in a user's Python file and validated later, as one
tree. Validating each object as it is constructed would lose the path to it:
``Canary(percent=150)`` fails before it knows that it belongs to
``models.churn.serving``. So a model constructed in user code only records the
arguments it was given (a *declaration*); the loader turns the whole platform
into plain data, applies the environment's overrides, and validates the result
inside :func:`validating`, where construction is ordinary pydantic validation
and every error carries its full path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from croniter import CroniterBadDateError, CroniterError, croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from mlops_dsl.spec import durations

_VALIDATING: ContextVar[bool] = ContextVar("mlops_spec_validating", default=False)


@contextmanager
def validating() -> Iterator[None]:
    """Within this block, constructing a spec model validates it at once."""
    token = _VALIDATING.set(True)
    try:
        yield
    finally:
        _VALIDATING.reset(token)


class SpecModel(BaseModel):
    """A frozen, strict spec model that is declared first and validated as a whole.

    No number is NaN or infinite: a NaN gate threshold would refuse every run,
    and neither JSON nor Kubernetes can carry one. Numbers and flags are strict
    field by field (``StrictInt``, ``StrictFloat``, ``StrictBool``: ``replicas="3"``,
    ``percent=True`` and ``3.0`` for an integer are refused, not coerced); a
    model-wide ``strict=True`` would also make the pydantic mypy plugin type
    every argument exactly, refusing "5m" for a duration and dicts for
    sections, which the spec accepts on purpose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)

    _declared: dict[str, Any] | None = PrivateAttr(default=None)

    def __init__(self, /, *args: Any, **data: Any) -> None:
        if args:
            first = next(iter(type(self).model_fields), "name")
            raise TypeError(f"{type(self).__name__}() takes keyword arguments only, such as {type(self).__name__}({first}=...)")
        if _VALIDATING.get():
            super().__init__(**data)
            return
        # A declaration: keep the arguments exactly as given, so the loader can
        # validate them later with their full path. Attribute access still works
        # (model_construct fills in defaults) so specs can refer to each other.
        draft = type(self).model_construct(**data)
        for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
            object.__setattr__(self, slot, getattr(draft, slot))
        self._declared = dict(data)

    @property
    def is_declaration(self) -> bool:
        """True for an object built in user code and not validated yet."""
        return self._declared is not None


def to_data(value: Any) -> Any:
    """Turn declared spec objects into plain dicts and lists for validation."""
    if isinstance(value, SpecModel):
        if value._declared is None:
            data = value.model_dump(mode="python", exclude_unset=True, round_trip=True)
        else:
            data = {key: to_data(item) for key, item in value._declared.items()}
        kind = type(value).model_fields.get("kind")
        if kind is not None and "kind" not in data:
            # The discriminator is a default, never passed by the user; without it
            # the union this object belongs to could not tell which branch it is.
            data = {"kind": kind.default, **data}
        return data
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", exclude_unset=True)
    if isinstance(value, dict):
        return {key: to_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_data(item) for item in value]
    return value


def spec_error(allowed: str, reason: str | None = None) -> PydanticCustomError:
    """An error whose message says what is allowed, rendered on one line by the loader."""
    return PydanticCustomError(
        "spec_value",
        "{reason}allowed: {allowed}",
        {"allowed": allowed, "reason": f"{reason}; " if reason else ""},
    )


def matching(pattern: re.Pattern[str], rule: str, *, max_length: int | None = None) -> Callable[[str], str]:
    """A validator: the whole value matches ``pattern`` (and is at most ``max_length`` long), or the error says ``rule``."""

    def check(value: str) -> str:
        if (max_length is not None and len(value) > max_length) or not pattern.fullmatch(value):
            raise spec_error(rule)
        return value

    return check


# --- names -------------------------------------------------------------------
#
# Every pattern that checks user input spells its characters out in ASCII
# (`\d` and `\w` take other scripts' digits and letters, such as a fullwidth 4 in "4Gi") and is
# applied with fullmatch: a `$` anchor also matches before a final newline, so
# `match` lets "churn\n" into a manifest. The patterns keep their ^...$ anchors
# for the JSON Schema, where `$` means the end of the text.

_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
NAME_RULE = "lowercase letters, digits and '-', starting with a letter and not ending with '-', at most 63 characters"
IDENTIFIER_RULE = "lowercase letters, digits and '_', not starting with a digit, at most 63 characters"


Name = Annotated[
    str,
    AfterValidator(matching(_NAME, NAME_RULE, max_length=63)),
    WithJsonSchema({"type": "string", "pattern": _NAME.pattern, "maxLength": 63, "description": NAME_RULE}),
]
"""A resource name: usable as a Kubernetes object name and in AWS resource names."""

Identifier = Annotated[
    str,
    AfterValidator(matching(_IDENTIFIER, IDENTIFIER_RULE, max_length=63)),
    WithJsonSchema({"type": "string", "pattern": _IDENTIFIER.pattern, "maxLength": 63, "description": IDENTIFIER_RULE}),
]
"""A column-like name: a feature, view, entity or source (Feast and Glue friendly)."""


# --- durations ---------------------------------------------------------------

DURATION_RULE = "a duration such as 250ms, 30s, 5m, 1h30m, 2d or 1w"
_LONGEST = f"a duration of at most {durations.MAX_TEXT} (about 292 years, what Prometheus and Kubernetes can hold)"


def parse_duration(value: Any) -> timedelta:
    """Parse a Prometheus-style duration ("1h30m") into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise spec_error(DURATION_RULE)
    try:
        return durations.parse(value)
    except durations.DurationTooLongError:
        raise spec_error(_LONGEST, "too long") from None
    except ValueError:
        raise spec_error(DURATION_RULE) from None


format_duration = durations.format
"""Render a timedelta the way Prometheus writes durations ("1h30m", "250ms")."""


def _check_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise spec_error("a duration longer than zero")
    if value > durations.MAX:
        raise spec_error(_LONGEST, "too long")
    if value % timedelta(milliseconds=1):
        # A timedelta given in Python can be finer than what the targets write.
        raise spec_error("a whole number of milliseconds", "finer than a millisecond")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_check_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": durations.PATTERN.pattern, "description": DURATION_RULE}),
]
"""A positive duration of whole milliseconds, at most :data:`durations.MAX`, written as Prometheus writes them."""


# --- schedules ---------------------------------------------------------------

CRON_RULE = (
    "a 5-field cron expression such as '0 3 * * 1' (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, "
    "day of week 0-6 or SUN-SAT), or @hourly, @daily, @weekly, @monthly, @yearly"
)
_CRON_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly"}
# A cron has no year field: one that does not fire within a few years from any
# day never fires ("0 0 30 2 *"). A fixed start keeps validation the same every day.
_CRON_START = datetime(2024, 1, 1, tzinfo=UTC)
CRON_HORIZON_YEARS = 5


def _check_cron(value: str) -> str:
    # What croniter reads (the local target and the retraining trigger read
    # schedules with it) and fires; what one target's scheduler cannot read
    # (Kubernetes has no L, W or #; EventBridge no two day fields) is a rule of
    # that target, in loading/target_rules.py.
    text = " ".join(value.split())
    if text in _CRON_MACROS:
        return text
    fields = text.split(" ")
    if len(fields) != 5:
        raise spec_error(CRON_RULE, f"{len(fields)} fields" if len(fields) > 1 else None)
    if not text.isascii() or not croniter.is_valid(text):
        raise spec_error(CRON_RULE)
    try:
        croniter(text, _CRON_START, max_years_between_matches=CRON_HORIZON_YEARS).get_next(datetime)
    except CroniterBadDateError:
        # Only a day of month that none of its months has can do that (with day of week *).
        raise spec_error(
            f"a schedule that fires at least once in {CRON_HORIZON_YEARS} years", "it never fires: none of its months has that day"
        ) from None
    except (CroniterError, ValueError):
        raise spec_error(CRON_RULE) from None
    return text


Cron = Annotated[
    str,
    AfterValidator(_check_cron),
    WithJsonSchema({"type": "string", "description": CRON_RULE}),
]
"""A schedule as a standard 5-field cron expression (minute hour day month weekday) that fires."""


# --- resource quantities -----------------------------------------------------

_CPU = re.compile(r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$")
CPU_RULE = "a CPU quantity such as 2, 0.5 or 500m"
MEMORY_RULE = "a memory quantity such as 512Mi, 4Gi or 1G"
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _cpu_text(value: Any) -> str:
    """CPU may be written as a number (2, 0.5); anything else but text is refused with the CPU rule."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise spec_error(CPU_RULE)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)  # NaN, infinity and 1e-05 come out as text the pattern refuses


def _check_cpu(value: str) -> str:
    if not _CPU.fullmatch(value) or float(value.rstrip("m") or 0) <= 0:
        raise spec_error(CPU_RULE)
    return value


def _check_memory(value: str) -> str:
    if not _MEMORY.fullmatch(value) or float(re.sub(r"[A-Za-z]+$", "", value)) <= 0:
        raise spec_error(MEMORY_RULE)
    return value


CpuQuantity = Annotated[
    str,
    BeforeValidator(_cpu_text),
    AfterValidator(_check_cpu),
    WithJsonSchema({"type": ["string", "number"], "pattern": _CPU.pattern, "description": CPU_RULE}),
]
"""CPU as Kubernetes writes it: cores ("2", "0.5") or millicores ("500m")."""

MemoryQuantity = Annotated[
    str,
    AfterValidator(_check_memory),
    WithJsonSchema({"type": "string", "pattern": _MEMORY.pattern, "description": MEMORY_RULE}),
]
"""Memory as Kubernetes writes it: "512Mi", "4Gi"."""

_SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
SECRET_RULE = "a config key name: a letter, then letters, digits, '_' or '-', at most 63 characters"


SecretName = Annotated[
    str,
    AfterValidator(matching(_SECRET_NAME, SECRET_RULE)),
    WithJsonSchema({"type": "string", "pattern": _SECRET_NAME.pattern, "description": SECRET_RULE}),
]
"""The name of a secret held outside the spec: a Pulumi config secret on a cloud
target (``pulumi config set --secret NAME``), an environment variable locally."""


# --- images, modules, hosts --------------------------------------------------

# The image reference grammar of the OCI distribution spec (docker/distribution's
# reference package): [registry[:port]/]path[:tag][@digest], lowercase paths.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
IMAGE_RULE = "a container image reference such as ghcr.io/org/runtime:1.0 (registry, lowercase path, tag or @sha256 digest)"


ImageRef = Annotated[
    str,
    AfterValidator(matching(_IMAGE, IMAGE_RULE, max_length=255)),
    WithJsonSchema({"type": "string", "pattern": _IMAGE.pattern, "maxLength": 255, "description": IMAGE_RULE}),
]
"""A container image, as Kubernetes and SageMaker pull it."""

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_SUBDOMAIN_RULE = "a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253 characters"


KubernetesName = Annotated[
    str,
    AfterValidator(matching(_DNS_SUBDOMAIN, DNS_SUBDOMAIN_RULE, max_length=253)),
    WithJsonSchema({"type": "string", "pattern": _DNS_SUBDOMAIN.pattern, "maxLength": 253, "description": DNS_SUBDOMAIN_RULE}),
]
"""The name of an existing Kubernetes object (a StorageClass, say): a DNS subdomain."""

MAX_COUNT = 10**12
"""The largest count the spec takes: past any real count, and well within the integers JSON readers and
Pulumi (which holds numbers as float64) keep exactly."""
