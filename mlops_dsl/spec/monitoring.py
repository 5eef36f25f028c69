"""Monitoring: named alerts on drift, model quality and service objectives, and where they notify.

Every monitor becomes one alert with the monitor's name: a Prometheus alerting
rule on Kubernetes and locally, a CloudWatch alarm on AWS. Retraining
triggers and canary rollbacks refer to monitors by that name.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, assert_never

from pydantic import AfterValidator, Field, StrictFloat, StrictInt, WithJsonSchema

from mlops_dsl.spec.base import MAX_COUNT, Duration, Name, SecretName, SpecModel, spec_error
from mlops_dsl.spec.training import Metric

Severity = Literal["info", "warning", "critical"]


class _Monitor(SpecModel):
    name: Name
    fire_after: Duration = timedelta(minutes=5)
    severity: Severity = "warning"
    notify: list[Name] | None = None
    description: str = ""


class DataDrift(_Monitor):
    """Fires when the live distribution of named input features drifts from training.

    ``method`` is the population stability index (``psi``) or the two-sample
    Kolmogorov-Smirnov statistic (``ks``); the alert fires when the score of any
    named feature stays above ``threshold`` over ``window`` for ``fire_after``.
    """

    kind: Literal["data_drift"] = "data_drift"
    features: list[str] = Field(min_length=1)
    method: Literal["psi", "ks"] = "psi"
    threshold: StrictFloat = Field(default=0.2, gt=0)
    window: Duration = timedelta(hours=1)


class PredictionDrift(_Monitor):
    """Fires when the distribution of the model's predictions drifts from training."""

    kind: Literal["prediction_drift"] = "prediction_drift"
    method: Literal["psi", "ks"] = "psi"
    threshold: StrictFloat = Field(default=0.2, gt=0)
    window: Duration = timedelta(hours=1)


class ModelQuality(_Monitor):
    """Fires when a quality metric, computed from ground-truth labels, falls below ``threshold``.

    For ``log_loss``, ``rmse`` and ``mae`` the threshold is a ceiling instead.
    """

    kind: Literal["model_quality"] = "model_quality"
    metric: Metric
    threshold: StrictFloat
    window: Duration = timedelta(days=1)
    min_labels: StrictInt = Field(default=100, ge=1, le=MAX_COUNT)


class Latency(_Monitor):
    """A latency objective: fires when the ``quantile`` of request latency exceeds ``threshold``."""

    kind: Literal["latency"] = "latency"
    quantile: StrictFloat = Field(default=0.99, gt=0.5, lt=1.0)
    threshold: Duration
    window: Duration = timedelta(minutes=5)


class ErrorRate(_Monitor):
    """An error-rate objective: fires when the share of failed requests exceeds ``threshold``."""

    kind: Literal["error_rate"] = "error_rate"
    threshold: StrictFloat = Field(gt=0.0, lt=1.0)
    window: Duration = timedelta(minutes=5)


Monitor = Annotated[
    DataDrift | PredictionDrift | ModelQuality | Latency | ErrorRate,
    Field(discriminator="kind"),
]
"""Any monitor; the ``kind`` field tells which."""

SERVICE_MONITOR_KINDS = ("latency", "error_rate", "model_quality")


class Alerting(SpecModel):
    """How alerts are evaluated and grouped before they notify anyone or trigger retraining.

    ``evaluation_interval`` is how often Prometheus evaluates the alert rules;
    ``group_wait`` how long Alertmanager waits to batch a new group of alerts;
    ``group_interval`` how long before it sends alerts added to a group; and
    ``repeat_interval`` how long before it re-sends a notification that is
    still firing.
    """

    evaluation_interval: Duration = timedelta(seconds=30)
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)


# --- notification channels ---------------------------------------------------


class Slack(SpecModel):
    """A Slack channel, through an incoming-webhook URL kept as a secret."""

    kind: Literal["slack"] = "slack"
    name: Name
    channel: str = Field(pattern=r"^#[\w-]+$")
    webhook_url_secret: SecretName


_ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_SMARTHOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([0-9]{1,5})$")
SMARTHOST_RULE = "an SMTP server as host:port, such as smtp.example.com:587 (a port from 1 to 65535)"


def _check_smarthost(value: str) -> str:
    found = _SMARTHOST.fullmatch(value)
    if not found or not 1 <= int(found.group(2)) <= 65535:
        raise spec_error(SMARTHOST_RULE)
    return value


SmartHost = Annotated[
    str, AfterValidator(_check_smarthost), WithJsonSchema({"type": "string", "pattern": _SMARTHOST.pattern, "description": SMARTHOST_RULE})
]


class Email(SpecModel):
    """Email to one or more addresses, through an SMTP server (``host:port``).

    The SMTP password, if the server needs one, is a secret named by
    ``password_secret``.
    """

    kind: Literal["email"] = "email"
    name: Name
    to: list[Annotated[str, Field(pattern=_ADDRESS)]] = Field(min_length=1)
    sender: Annotated[str, Field(pattern=_ADDRESS)]
    smarthost: SmartHost
    username: str | None = None
    password_secret: SecretName | None = None


class PagerDuty(SpecModel):
    """A PagerDuty service, through an Events API v2 routing key kept as a secret."""

    kind: Literal["pagerduty"] = "pagerduty"
    name: Name
    routing_key_secret: SecretName


class Webhook(SpecModel):
    """Any HTTP endpoint that accepts Alertmanager's webhook payload; its URL is a secret."""

    kind: Literal["webhook"] = "webhook"
    name: Name
    url_secret: SecretName


Channel = Annotated[Slack | Email | PagerDuty | Webhook, Field(discriminator="kind")]
"""A notification channel; the ``kind`` field tells which."""


def channel_secrets(channel: Channel) -> list[str]:
    """The names of the secrets a channel reads (its webhook URL, routing key, URL or SMTP password)."""
    match channel:
        case Slack():
            return [channel.webhook_url_secret]
        case Email():
            return [channel.password_secret] if channel.password_secret else []
        case PagerDuty():
            return [channel.routing_key_secret]
        case Webhook():
            return [channel.url_secret]
        case _:
            assert_never(channel)


__all__ = [
    "SERVICE_MONITOR_KINDS",
    "channel_secrets",
    "Alerting",
    "Channel",
    "DataDrift",
    "Email",
    "ErrorRate",
    "Latency",
    "ModelQuality",
    "Monitor",
    "PagerDuty",
    "PredictionDrift",
    "Severity",
    "Slack",
    "Webhook",
]
