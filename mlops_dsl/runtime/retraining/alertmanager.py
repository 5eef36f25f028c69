"""Alertmanager's webhook notifications (payload version 4), and how their sender proves who it is."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_dsl.spec.problems import join_path


class PayloadError(Exception):
    """A notification that is not a valid Alertmanager v4 payload; one line says why."""


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    fingerprint: str = ""
    generatorURL: str = ""  # noqa: N815

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels must include alertname")
        return labels


class Notification(BaseModel):
    """A webhook notification: a group of alerts sent to one receiver."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    groupKey: str  # noqa: N815
    alerts: list[Alert] = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815


def parse(body: bytes) -> Notification:
    """Decode a notification; raise :class:`PayloadError` with the first problem, on one line."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"the body is not valid JSON: {error}") from None
    try:
        return Notification.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = join_path(*first["loc"]) or "body"
        raise PayloadError(f"not an Alertmanager v4 notification: {where}: {first['msg']}") from None


def signature(secret: str, body: bytes) -> str:
    """The HMAC header value for a body: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def authenticated(scheme: Literal["bearer", "hmac"], secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether the request carries the right bearer token, or the right body signature."""
    if scheme == "bearer":
        given = headers.get("authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[len("Bearer ") :].strip().encode(), secret.encode())
    return hmac.compare_digest(headers.get("x-signature", "").encode(), signature(secret, body).encode())
