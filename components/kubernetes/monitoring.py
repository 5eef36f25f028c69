"""Monitoring on Kubernetes: the spec's alerts as a PrometheusRule, the drift and quality monitor (and
canary controller), and Alertmanager routing (AlertmanagerConfig) to the retraining webhook and the channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import MONITOR_PORT, TMP_VOLUME, Cluster, child, container, http_probe
from components.kubernetes.workloads import service_monitor, single_replica_service
from mlops_dsl.rendering.alerting import DEFAULT_RECEIVER, WEBHOOK_RECEIVER, routes, rule_groups
from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.monitoring import Email, PagerDuty, Slack, Webhook
from mlops_dsl.spec.training import Resources


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    cluster: Cluster
    webhook_url: str
    """The retraining webhook's in-cluster URL (``.../alerts``)."""
    token_key: str
    """The key of the webhook token in the platform Secret."""


def alertmanager_config_spec(cluster: Cluster, webhook_url: str, token_key: str) -> dict[str, Any]:
    """The AlertmanagerConfig spec: retraining alerts to the webhook, notifications to their channels."""
    platform = cluster.spec.platform

    def secret(key: str) -> dict[str, str]:
        return {"name": cluster.secret, "key": key}

    receivers: list[dict[str, Any]] = [
        {"name": DEFAULT_RECEIVER},
        {
            "name": WEBHOOK_RECEIVER,
            "webhookConfigs": [
                {
                    "url": webhook_url,
                    "sendResolved": False,
                    "httpConfig": {"authorization": {"type": "Bearer", "credentials": secret(token_key)}},
                }
            ],
        },
    ]
    for channel in platform.notifications:
        receiver: dict[str, Any] = {"name": channel.name}
        match channel:
            case Slack():
                receiver["slackConfigs"] = [
                    {"apiURL": secret(channel.webhook_url_secret), "channel": channel.channel, "sendResolved": True}
                ]
            case Email():
                email: dict[str, Any] = {
                    "to": ", ".join(channel.to),
                    "from": channel.sender,
                    "smarthost": channel.smarthost,
                    "sendResolved": True,
                }
                if channel.username:
                    email["authUsername"] = channel.username
                if channel.password_secret:
                    email["authPassword"] = secret(channel.password_secret)
                receiver["emailConfigs"] = [email]
            case PagerDuty():
                receiver["pagerdutyConfigs"] = [{"routingKey": secret(channel.routing_key_secret), "sendResolved": True}]
            case Webhook():
                receiver["webhookConfigs"] = [{"urlSecret": secret(channel.url_secret), "sendResolved": True}]
            case _:
                assert_never(channel)
        receivers.append(receiver)
    timing = platform.alerting
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "groupBy": ["alertname", "model"],
            "groupWait": format_duration(timing.group_wait),
            "groupInterval": format_duration(timing.group_interval),
            "repeatInterval": format_duration(timing.repeat_interval),
            "routes": [
                {
                    "receiver": r.receiver,
                    "matchers": [{"name": r.label, "value": r.pattern, "matchType": "=" if r.exact else "=~"}],
                    "continue": True,
                }
                for r in routes(platform)
            ],
        },
        "receivers": receivers,
    }


class Monitoring(pulumi.ComponentResource):
    """Alert rules, the drift monitor, and alert routing."""

    rule_name: pulumi.Output[str]
    """The PrometheusRule holding the spec's alerts."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Monitoring", name, {}, opts)
        cluster = args.cluster
        prometheus_labels = cluster.target.prometheus_labels
        rule = k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={
                **cluster.metadata(cluster.names.alerts(), "monitoring"),
                "labels": {**cluster.labels("monitoring"), **prometheus_labels},
            },
            # The operator routes by namespace, so every expression keeps that label.
            spec={"groups": rule_groups(cluster.spec.platform, keep=("namespace",))},
            opts=child(self),
        )
        spec_volume, spec_mount = cluster.spec_volume()
        code_volumes, code_mounts = cluster.code_volume()
        # Quality monitoring reads what the model servers capture and the labels, both on the shared state volume.
        data_volume, data_mount = cluster.data_volume()
        monitor_name = cluster.names.monitor()
        monitor = container(
            "drift-monitor",
            cluster.image,
            ["monitor", "--host", "0.0.0.0", "--port", str(MONITOR_PORT), "--prometheus-url", cluster.target.prometheus_url],
            Resources(cpu="100m", memory="512Mi"),
            env=cluster.runtime_env(),
            mounts=[spec_mount, *code_mounts, {**data_mount, "readOnly": True}],
            ports=[{"name": "http", "containerPort": MONITOR_PORT}],
            readinessProbe=http_probe("/healthz", MONITOR_PORT),
            livenessProbe=http_probe("/healthz", MONITOR_PORT, period=20, delay=20),
        )
        single_replica_service(
            self,
            cluster,
            resource_names=(f"{name}-drift-monitor", f"{name}-drift-monitor-service"),
            name=monitor_name,
            component="drift-monitor",
            containers=[monitor],
            volumes=[spec_volume, *code_volumes, data_volume, TMP_VOLUME],
            port=MONITOR_PORT,
        )
        service_monitor(self, cluster, f"{name}-drift-monitor-scrape", monitor_name, "drift-monitor")
        k8s.apiextensions.CustomResource(
            f"{name}-routing",
            api_version="monitoring.coreos.com/v1alpha1",
            kind="AlertmanagerConfig",
            metadata={
                **cluster.metadata(cluster.names.routing(), "monitoring"),
                "labels": {**cluster.labels("monitoring"), **prometheus_labels},
            },
            spec=alertmanager_config_spec(cluster, args.webhook_url, args.token_key),
            opts=child(self),
        )
        self.rule_name = rule.metadata["name"]
        self.register_outputs({"rule_name": self.rule_name})
