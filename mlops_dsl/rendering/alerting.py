"""The spec's monitors as Prometheus alert rules, and Alertmanager routing, for any target that runs them.

The Kubernetes target wraps these in PrometheusRule and AlertmanagerConfig
resources; the local target writes them as files for real Prometheus and
Alertmanager processes. Both come from here, so they cannot disagree.

Every monitor is one alert named after the monitor. Its labels say which
model and monitor it is about, whether it triggers retraining
(``retrain="true"``) and which channels it notifies (``notify``); routing
sends it to the retraining webhook and to those channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, assert_never

from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.monitoring import (
    DataDrift,
    Email,
    ErrorRate,
    Latency,
    ModelQuality,
    Monitor,
    PagerDuty,
    PredictionDrift,
    Slack,
    Webhook,
)
from mlops_dsl.spec.platform import Model, Platform
from mlops_dsl.spec.retraining import OnAlert
from mlops_dsl.spec.training import LOWER_IS_BETTER

WEBHOOK_RECEIVER = "retraining-webhook"
VALUE_TEMPLATE = '{{ $value | printf "%.3f" }}'
DEFAULT_RECEIVER = "default"


def _selector(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def expression(model: Model, monitor: Monitor, keep: tuple[str, ...] = ()) -> str:
    """The PromQL that is true while the monitor's condition holds."""
    by = ", ".join(("model", *keep))
    match monitor:
        case DataDrift() | PredictionDrift():
            return f"max by ({by}) (mlops_drift_score{_selector(model=model.name, monitor=monitor.name)}) > {monitor.threshold}"
        case ModelQuality():
            if monitor.metric in LOWER_IS_BETTER:
                return f"max by ({by}) (mlops_model_quality{_selector(model=model.name, metric=monitor.metric)}) > {monitor.threshold}"
            return f"min by ({by}) (mlops_model_quality{_selector(model=model.name, metric=monitor.metric)}) < {monitor.threshold}"
        case Latency():
            window = format_duration(monitor.window)
            seconds = monitor.threshold.total_seconds()
            return (
                f"histogram_quantile({monitor.quantile}, sum by ({by}, le) "
                f"(rate(mlops_request_duration_seconds_bucket{_selector(model=model.name)}[{window}]))) > {seconds:g}"
            )
        case ErrorRate():
            window = format_duration(monitor.window)
            errors = f'mlops_request_errors_total{{model="{model.name}",code=~"5.."}}'
            requests = f"mlops_requests_total{_selector(model=model.name)}"
            return f"(sum by ({by}) (rate({errors}[{window}])) / sum by ({by}) (rate({requests}[{window}]))) > {monitor.threshold}"
        case _:
            assert_never(monitor)


def _summary(model: Model, monitor: Monitor) -> str:
    match monitor:
        case DataDrift():
            return f"Input drift ({monitor.method.upper()}) on model {model.name} is above {monitor.threshold}"
        case PredictionDrift():
            return f"Prediction drift ({monitor.method.upper()}) on model {model.name} is above {monitor.threshold}"
        case ModelQuality():
            side = "above" if monitor.metric in LOWER_IS_BETTER else "below"
            return f"{monitor.metric} of model {model.name} is {side} {monitor.threshold}"
        case Latency():
            return f"p{monitor.quantile * 100:g} latency of model {model.name} is above {format_duration(monitor.threshold)}"
        case ErrorRate():
            return f"Error rate of model {model.name} is above {monitor.threshold:.2%}"
        case _:
            assert_never(monitor)


def retrains_on(model: Model) -> set[str]:
    """The alert names that trigger retraining of a model."""
    return {t.alert for t in model.retraining.triggers if isinstance(t, OnAlert)}


def channels_of(platform: Platform, monitor: Monitor) -> list[str]:
    """The channels a monitor notifies: its own list, or every channel of the platform."""
    return list(monitor.notify) if monitor.notify is not None else [c.name for c in platform.notifications]


def rule_groups(platform: Platform, keep: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Prometheus rule groups, one per model that has monitors.

    ``keep`` names labels the expressions preserve besides ``model`` (on
    Kubernetes, ``namespace``, which the Prometheus Operator routes by).
    """
    groups = []
    for model in platform.models:
        if not model.monitors:
            continue
        retrain = retrains_on(model)
        rules = []
        for monitor in model.monitors:
            labels = {
                "platform": platform.name,
                "model": model.name,
                "monitor": monitor.name,
                "kind": monitor.kind,
                "severity": monitor.severity,
                "retrain": "true" if monitor.name in retrain else "false",
                "notify": ",".join(channels_of(platform, monitor)),
            }
            summary = _summary(model, monitor)
            rules.append(
                {
                    "alert": monitor.name,
                    "expr": expression(model, monitor, keep),
                    "for": format_duration(monitor.fire_after),
                    "labels": labels,
                    "annotations": {"summary": summary, "description": monitor.description or summary, "value": VALUE_TEMPLATE},
                }
            )
        groups.append(
            {"name": f"{platform.name}-{model.name}", "interval": format_duration(platform.alerting.evaluation_interval), "rules": rules}
        )
    return groups


@dataclass(frozen=True)
class Route:
    """One routing branch: alerts matching ``label =~ pattern`` go to ``receiver``, and routing continues."""

    receiver: str
    label: str
    pattern: str
    exact: bool


def routes(platform: Platform) -> list[Route]:
    """The routing tree below the root: the retraining webhook, then one branch per channel."""
    branches = [Route(WEBHOOK_RECEIVER, "retrain", "true", exact=True)]
    for channel in platform.notifications:
        branches.append(Route(channel.name, "notify", f"(.*,)?{channel.name}(,.*)?", exact=False))
    return branches


def _timings(platform: Platform) -> dict[str, str]:
    timing = platform.alerting
    return {
        "group_wait": format_duration(timing.group_wait),
        "group_interval": format_duration(timing.group_interval),
        "repeat_interval": format_duration(timing.repeat_interval),
    }


def alertmanager_config(
    platform: Platform, *, webhook_url: str, token_file: str, secret_files: dict[str, str], secret_values: dict[str, str]
) -> dict[str, Any]:
    """A complete Alertmanager configuration file for the platform.

    ``secret_files`` maps each channel's secret name to a file holding it:
    Alertmanager reads credentials from files, so they stay out of the config.
    A webhook channel's URL is the exception (Alertmanager 0.25 has no
    ``url_file``), so it comes from ``secret_values`` and the file that holds
    the config must be kept private.
    """
    receivers: list[dict[str, Any]] = [
        {"name": DEFAULT_RECEIVER},
        {
            "name": WEBHOOK_RECEIVER,
            "webhook_configs": [
                {
                    "url": webhook_url,
                    "send_resolved": False,
                    "http_config": {"authorization": {"type": "Bearer", "credentials_file": token_file}},
                }
            ],
        },
    ]
    for channel in platform.notifications:
        receiver: dict[str, Any] = {"name": channel.name}
        match channel:
            case Slack():
                receiver["slack_configs"] = [
                    {"api_url_file": secret_files[channel.webhook_url_secret], "channel": channel.channel, "send_resolved": True}
                ]
            case Email():
                email: dict[str, Any] = {
                    "to": ", ".join(channel.to),
                    "from": channel.sender,
                    "smarthost": channel.smarthost,
                    "send_resolved": True,
                }
                if channel.username:
                    email["auth_username"] = channel.username
                if channel.password_secret:
                    email["auth_password_file"] = secret_files[channel.password_secret]
                receiver["email_configs"] = [email]
            case PagerDuty():
                receiver["pagerduty_configs"] = [{"routing_key_file": secret_files[channel.routing_key_secret], "send_resolved": True}]
            case Webhook():
                receiver["webhook_configs"] = [{"url": secret_values[channel.url_secret], "send_resolved": True}]
            case _:
                assert_never(channel)
        receivers.append(receiver)
    child_routes = []
    for route in routes(platform):
        child: dict[str, Any] = {
            "receiver": route.receiver,
            "matchers": [f'{route.label}{"=" if route.exact else "=~"}"{route.pattern}"'],
            "continue": True,
        }
        if route.receiver == WEBHOOK_RECEIVER:
            child["group_by"] = ["alertname", "model"]
        child_routes.append(child)
    return {
        "route": {"receiver": DEFAULT_RECEIVER, "group_by": ["alertname", "model"], **_timings(platform), "routes": child_routes},
        "receivers": receivers,
    }


def promtool_tests(platform: Platform, rule_file: str, keep: dict[str, str] | None = None) -> dict[str, Any]:
    """``promtool test rules`` cases: each alert fires on the series it watches, and stays quiet otherwise.

    ``keep`` are extra labels the test series carry (``namespace`` on Kubernetes).
    """
    extra = keep or {}
    rules = {rule["alert"]: rule for group in rule_groups(platform, tuple(extra)) for rule in group["rules"]}
    tests = []
    for model in platform.models:
        for monitor in model.monitors:
            # Rates need a window of data before they exist; then the alert must hold for fire_after.
            settle = monitor.fire_after + (monitor.window if isinstance(monitor, (Latency, ErrorRate)) else timedelta(0))
            minutes = int(settle.total_seconds() // 60) + 3
            at = f"{minutes}m"
            firing, quiet, value = _series(model, monitor, extra, steps=f"x{minutes + 5}")
            rule = rules[monitor.name]
            expected = {"exp_labels": {**rule["labels"], **extra}, "exp_annotations": {**rule["annotations"], "value": f"{value:.3f}"}}
            tests.append(
                {
                    "interval": "1m",
                    "input_series": firing,
                    "alert_rule_test": [{"eval_time": at, "alertname": monitor.name, "exp_alerts": [expected]}],
                }
            )
            tests.append(
                {
                    "interval": "1m",
                    "input_series": quiet,
                    "alert_rule_test": [{"eval_time": at, "alertname": monitor.name, "exp_alerts": []}],
                }
            )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def _labels(**labels: str) -> str:
    return "{" + ", ".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


Series = list[dict[str, str]]


def _series(model: Model, monitor: Monitor, extra: dict[str, str], steps: str) -> tuple[Series, Series, float]:
    """Input series (one sample a minute, ``steps`` long) that make the alert fire, ones that keep it quiet,
    and the value it fires with."""
    if isinstance(monitor, (DataDrift, PredictionDrift)):
        name = (
            f"mlops_drift_score{_labels(model=model.name, version='1', monitor=monitor.name, feature='f', method=monitor.method, **extra)}"
        )
        high = monitor.threshold * 2
        return [{"series": name, "values": f"{high:g}{steps}"}], [{"series": name, "values": f"{monitor.threshold / 2:g}{steps}"}], high
    if isinstance(monitor, ModelQuality):
        name = f"mlops_model_quality{_labels(model=model.name, version='1', metric=monitor.metric, **extra)}"
        if monitor.metric in LOWER_IS_BETTER:
            worse, better = monitor.threshold * 2 + 1, monitor.threshold / 2
        else:
            worse, better = monitor.threshold / 2, min(1.0, monitor.threshold * 1.1 + 0.01)
        return [{"series": name, "values": f"{worse:g}{steps}"}], [{"series": name, "values": f"{better:g}{steps}"}], worse
    if isinstance(monitor, Latency):
        threshold = monitor.threshold.total_seconds()
        slow, fast = threshold * 4, threshold / 4
        per_minute = 600  # requests per minute, all in one bucket: the quantile sits inside it

        def latency(seconds: float) -> list[dict[str, str]]:
            edges = [fast / 2, fast * 2, threshold * 2, slow * 2]
            series = []
            for edge in edges:
                count = per_minute if edge >= seconds else 0
                series.append(
                    {
                        "series": f"mlops_request_duration_seconds_bucket{_labels(model=model.name, version='1', le=f'{edge:g}', **extra)}",
                        "values": f"0+{count}{steps}",
                    }
                )
            series.append(
                {
                    "series": f"mlops_request_duration_seconds_bucket{_labels(model=model.name, version='1', le='+Inf', **extra)}",
                    "values": f"0+{per_minute}{steps}",
                }
            )
            return series

        # All requests sit in the bucket (2t, 8t]; the quantile interpolates inside it.
        return latency(slow), latency(fast), threshold * 2 + threshold * 6 * monitor.quantile
    if isinstance(monitor, ErrorRate):
        requests = f"mlops_requests_total{_labels(model=model.name, version='1', **extra)}"
        errors = f"mlops_request_errors_total{_labels(model=model.name, version='1', code='500', **extra)}"
        bad = max(1, int(1000 * monitor.threshold * 4))
        good = int(1000 * monitor.threshold / 4)
        return (
            [{"series": requests, "values": f"0+1000{steps}"}, {"series": errors, "values": f"0+{bad}{steps}"}],
            [{"series": requests, "values": f"0+1000{steps}"}, {"series": errors, "values": f"0+{good}{steps}"}],
            bad / 1000,
        )
    assert_never(monitor)
