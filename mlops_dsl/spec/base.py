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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Annotated, Any

from croniter import croniter
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
    """A frozen, strict spec model that is declared first and validated as a whole."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

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


# --- names -------------------------------------------------------------------

_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
NAME_RULE = "lowercase letters, digits and '-', starting with a letter and not ending with '-', at most 63 characters"
IDENTIFIER_RULE = "lowercase letters, digits and '_', not starting with a digit, at most 63 characters"


def _check_name(value: str) -> str:
    if len(value) > 63 or not _NAME.match(value):
        raise spec_error(NAME_RULE)
    return value


def _check_identifier(value: str) -> str:
    if len(value) > 63 or not _IDENTIFIER.match(value):
        raise spec_error(IDENTIFIER_RULE)
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema({"type": "string", "pattern": _NAME.pattern, "maxLength": 63, "description": NAME_RULE}),
]
"""A resource name: usable as a Kubernetes object name and in AWS resource names."""

Identifier = Annotated[
    str,
    AfterValidator(_check_identifier),
    WithJsonSchema({"type": "string", "pattern": _IDENTIFIER.pattern, "maxLength": 63, "description": IDENTIFIER_RULE}),
]
"""A column-like name: a feature, view, entity or source (Feast and Glue friendly)."""


# --- durations ---------------------------------------------------------------

DURATION_RULE = "a duration such as 250ms, 30s, 5m, 1h30m, 2d or 1w"


def parse_duration(value: Any) -> timedelta:
    """Parse a Prometheus-style duration ("1h30m") into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise spec_error(DURATION_RULE)
    try:
        return durations.parse(value)
    except ValueError:
        raise spec_error(DURATION_RULE) from None


format_duration = durations.format
"""Render a timedelta the way Prometheus writes durations ("1h30m", "250ms")."""


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise spec_error("a duration longer than zero")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": durations.PATTERN.pattern, "description": DURATION_RULE}),
]
"""A positive duration, written as Prometheus writes them."""


# --- schedules ---------------------------------------------------------------

CRON_RULE = "a 5-field cron expression such as '0 3 * * 1', or @hourly, @daily, @weekly, @monthly"
_CRON_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly"}


def _check_cron(value: str) -> str:
    text = value.strip()
    if text in _CRON_MACROS:
        return text
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise spec_error(CRON_RULE)
    return text


Cron = Annotated[
    str,
    AfterValidator(_check_cron),
    WithJsonSchema({"type": "string", "description": CRON_RULE}),
]
"""A schedule as a standard 5-field cron expression (minute hour day month weekday)."""


# --- resource quantities -----------------------------------------------------

_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
CPU_RULE = "a CPU quantity such as 2, 0.5 or 500m"
MEMORY_RULE = "a memory quantity such as 512Mi, 4Gi or 1G"
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _number_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return format(value, "g")
    return value


def _check_cpu(value: str) -> str:
    if not _CPU.match(value) or float(value.rstrip("m") or 0) <= 0:
        raise spec_error(CPU_RULE)
    return value


def _check_memory(value: str) -> str:
    if not _MEMORY.match(value) or float(re.sub(r"[A-Za-z]+$", "", value)) <= 0:
        raise spec_error(MEMORY_RULE)
    return value


CpuQuantity = Annotated[
    str,
    BeforeValidator(_number_to_text),
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


def _check_secret_name(value: str) -> str:
    if not _SECRET_NAME.match(value):
        raise spec_error(SECRET_RULE)
    return value


SecretName = Annotated[
    str,
    AfterValidator(_check_secret_name),
    WithJsonSchema({"type": "string", "pattern": _SECRET_NAME.pattern, "description": SECRET_RULE}),
]
"""The name of a secret held outside the spec: a Pulumi config secret on a cloud
target (``pulumi config set --secret NAME``), an environment variable locally."""
