"""Prometheus and Alertmanager configuration for the local target.

The alert rules and the routing tree come from :mod:`mlops_dsl.rendering.alerting`, the
same functions the Kubernetes target wraps in PrometheusRule and
AlertmanagerConfig resources, so the two targets cannot disagree. What is
local: static scrape targets, and secrets as files in the state directory.

A channel's secret comes from the environment variable named after it
(``slackWebhookUrl`` from ``SLACK_WEBHOOK_URL``); a channel whose secret is not
set is left out of local routing, and ``mlops up`` says so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_dsl.local.layout import SCRAPE_INTERVAL, LocalPlatform, secret_env_name
from mlops_dsl.rendering.alerting import alertmanager_config, rule_groups
from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.monitoring import channel_secrets
from mlops_dsl.spec.platform import Platform


@dataclass(frozen=True)
class Rendered:
    """What was written, and the channels left out for want of a secret."""

    files: list[Path]
    skipped_channels: dict[str, str]
    """Channel name -> the environment variable it needs."""


def _private(path: Path, text: str) -> None:
    """Write a file only its owner can read (secrets, and configs that embed one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(partial, path)


def _channel_secrets(platform: Platform) -> dict[str, list[str]]:
    """The secret names each channel needs."""
    return {channel.name: channel_secrets(channel) for channel in platform.notifications}


def webhook_token(local: LocalPlatform) -> str:
    """The retraining webhook's token: generated once, then kept in the state directory."""
    if local.token_file.exists():
        return local.token_file.read_text().strip()
    token = secrets.token_hex(32)
    _private(local.token_file, token)
    return token


def prometheus_config(local: LocalPlatform) -> dict[str, Any]:
    """Scrape every service, evaluate the platform's rules, alert through the local Alertmanager."""

    def target(service: str) -> str:
        return f"{local.target.host}:{local.port(service)}"

    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "evaluation_interval": format_duration(local.spec.platform.alerting.evaluation_interval),
            "external_labels": {"platform": local.spec.platform.name, "environment": local.spec.environment},
        },
        "rule_files": [str(local.config_dir / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [target("alertmanager")]}]}]},
        "scrape_configs": [
            {"job_name": service, "static_configs": [{"targets": [target(service)]}]}
            for service in ("model-server", "drift-monitor", "retraining-trigger", "prometheus", "alertmanager")
        ],
    }


def render(local: LocalPlatform, environ: dict[str, str] | None = None) -> Rendered:
    """Write prometheus.yml, rules.yml, alertmanager.yml and the secret files they name."""
    environ = dict(os.environ if environ is None else environ)
    platform = local.spec.platform
    secret_files: dict[str, str] = {}
    secret_values: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for channel, names in _channel_secrets(platform).items():
        missing = [name for name in names if not environ.get(secret_env_name(name))]
        if missing:
            skipped[channel] = secret_env_name(missing[0])
            continue
        for name in names:
            value = environ[secret_env_name(name)]
            secret_values[name] = value
            path = local.secrets_dir / name
            _private(path, value)
            secret_files[name] = str(path)
    routed = platform.model_copy(update={"notifications": [c for c in platform.notifications if c.name not in skipped]})
    webhook_token(local)
    alertmanager = alertmanager_config(
        routed,
        webhook_url=f"{local.url('retraining-trigger')}/alerts",
        token_file=str(local.token_file),
        secret_files=secret_files,
        secret_values=secret_values,
    )
    files = {
        local.config_dir / "prometheus.yml": prometheus_config(local),
        local.config_dir / "rules.yml": {"groups": rule_groups(platform)},
        local.config_dir / "alertmanager.yml": alertmanager,
    }
    for path, content in files.items():
        _private(path, yaml.safe_dump(content, sort_keys=False))
    return Rendered(list(files), skipped)
