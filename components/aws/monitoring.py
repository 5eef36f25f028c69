"""Monitoring on AWS: CloudWatch alarms for every monitor, notifying SNS topics of the spec's channels.

Every alarm watches a metric of its endpoint (endpoint and variant in its
dimensions where the metric has them) and acts on the topics of the channels
its monitor notifies; each topic is encrypted with the platform's key and
subscribed to its channel. Drift and quality come from SageMaker Model
Monitor's metrics; latency and errors from the endpoint's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, assert_never

import pulumi
import pulumi_aws as aws

from components.aws.context import Account
from components.aws.functions import allow_invoke, function
from components.aws.serving import QUALITY_METRICS
from mlops_dsl.contracts.aws import SLACK_CHANNEL_ENV, SLACK_WEBHOOK_URL_ENV
from mlops_dsl.rendering.alerting import channels_of
from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.monitoring import (
    Channel,
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
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.training import LOWER_IS_BETTER

VARIANT = "primary"
DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS = "aws/sagemaker/Endpoints/model-metrics"
HOURLY = 3600


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    account: Account
    secrets: dict[str, pulumi.Input[str]]
    """Channel secrets (webhook URLs, routing keys) by spec secret name, from Pulumi config secrets."""


def alarm_spec(account: Account, model: Model, monitor: Monitor) -> dict[str, Any]:
    """The metric (or metric math) an alarm watches, its threshold and comparison."""
    names = account.names
    endpoint = names.endpoint(model.name)
    periods = max(1, math.ceil(monitor.fire_after.total_seconds() / 60))
    if isinstance(monitor, (DataDrift, PredictionDrift)):
        features = [f.partition(":")[2] or f for f in monitor.features] if isinstance(monitor, DataDrift) else ["prediction"]
        dimensions = {"Endpoint": endpoint, "MonitoringSchedule": names.monitoring(model.name, "data-quality")}
        queries = [
            {
                "id": f"f{i}",
                "metric": {
                    "namespace": DATA_METRICS,
                    "metric_name": f"feature_baseline_drift_{feature}",
                    "dimensions": dimensions,
                    "period": HOURLY,
                    "stat": "Maximum",
                },
                "return_data": False,
            }
            for i, feature in enumerate(features)
        ]
        queries.append(
            {
                "id": "drift",
                "expression": f"MAX([{','.join(f'f{i}' for i in range(len(features)))}])",
                "label": f"{monitor.method.upper()} distance",
                "return_data": True,
            }
        )
        return {
            "metric_queries": queries,
            "comparison_operator": "GreaterThanThreshold",
            "threshold": monitor.threshold,
            "evaluation_periods": 1,
        }
    if isinstance(monitor, ModelQuality):
        dimensions = {"Endpoint": endpoint, "MonitoringSchedule": names.monitoring(model.name, "model-quality")}
        lower = monitor.metric in LOWER_IS_BETTER
        return {
            "namespace": MODEL_METRICS,
            "metric_name": QUALITY_METRICS[monitor.metric],
            "dimensions": dimensions,
            "statistic": "Average",
            "period": HOURLY,
            "evaluation_periods": 1,
            "threshold": monitor.threshold,
            "comparison_operator": "GreaterThanThreshold" if lower else "LessThanThreshold",
        }
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT}
    if isinstance(monitor, Latency):
        return {
            "namespace": "AWS/SageMaker",
            "metric_name": "ModelLatency",  # microseconds
            "dimensions": dimensions,
            "extended_statistic": f"p{monitor.quantile * 100:g}",
            "period": 60,
            "evaluation_periods": periods,
            "threshold": monitor.threshold.total_seconds() * 1_000_000,
            "comparison_operator": "GreaterThanThreshold",
        }
    if isinstance(monitor, ErrorRate):
        window = max(60, int(monitor.window.total_seconds()) // 60 * 60)
        return {
            "metric_queries": [
                {
                    "id": "errors",
                    "metric": {
                        "namespace": "AWS/SageMaker",
                        "metric_name": "Invocation5XXErrors",
                        "dimensions": dimensions,
                        "period": window,
                        "stat": "Sum",
                    },
                    "return_data": False,
                },
                {
                    "id": "requests",
                    "metric": {
                        "namespace": "AWS/SageMaker",
                        "metric_name": "Invocations",
                        "dimensions": dimensions,
                        "period": window,
                        "stat": "Sum",
                    },
                    "return_data": False,
                },
                {"id": "rate", "expression": "IF(requests > 0, errors / requests, 0)", "label": "error rate", "return_data": True},
            ],
            "comparison_operator": "GreaterThanThreshold",
            "threshold": monitor.threshold,
            "evaluation_periods": periods,
        }
    assert_never(monitor)


class Monitoring(pulumi.ComponentResource):
    """A topic per notification channel, and an alarm per monitor."""

    alarms: pulumi.Output[dict[str, str]]
    """Alarm names by monitor."""
    topics: pulumi.Output[dict[str, str]]
    """Topic ARNs by channel."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Monitoring", name, {}, opts)
        account = self.account = args.account
        platform = account.spec.platform
        topics: dict[str, aws.sns.Topic] = {}
        for channel in platform.notifications:
            topic = aws.sns.Topic(
                f"{name}-{channel.name}",
                name=account.names.topic(channel.name),
                kms_master_key_id=account.kms_key_arn,
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            topics[channel.name] = topic
            self._subscribe(f"{name}-{channel.name}", topic, channel, args.secrets)
        alarms: dict[str, str] = {}
        for model in platform.models:
            for monitor in model.monitors:
                alarm_name = account.names.alarm(model.name, monitor.name)
                actions = [topics[c].arn for c in channels_of(platform, monitor)]
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{model.name}-{monitor.name}",
                    name=alarm_name,
                    alarm_description=f"{monitor.description or monitor.kind} of {model.name} "
                    f"(fires after {format_duration(monitor.fire_after)})",
                    alarm_actions=actions,
                    ok_actions=actions,
                    treat_missing_data="notBreaching",
                    tags={**account.tags, "mlops:model": model.name, "mlops:monitor": monitor.name, "mlops:severity": monitor.severity},
                    opts=pulumi.ResourceOptions(parent=self),
                    **alarm_spec(account, model, monitor),
                )
                alarms[monitor.name] = alarm_name
        self.alarms = pulumi.Output.from_input(alarms)
        self.topics = pulumi.Output.from_input({channel: topic.arn for channel, topic in topics.items()})  # type: ignore[arg-type]
        self.register_outputs({"alarms": self.alarms, "topics": self.topics})

    def _subscribe(self, name: str, topic: aws.sns.Topic, channel: Channel, secrets: dict[str, pulumi.Input[str]]) -> None:
        parent = pulumi.ResourceOptions(parent=topic)
        match channel:
            case Email():
                for index, address in enumerate(channel.to):
                    aws.sns.TopicSubscription(f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=address, opts=parent)
            case Slack():  # Slack cannot confirm an SNS subscription: a function forwards to its webhook
                forwarder = function(
                    f"{name}-slack",
                    account=self.account,
                    role="notify",
                    instance=channel.name,
                    statements=[],
                    environment={
                        SLACK_WEBHOOK_URL_ENV: pulumi.Output.secret(secrets[channel.webhook_url_secret]),
                        SLACK_CHANNEL_ENV: channel.channel,
                    },
                    parent=topic,
                )
                allow_invoke(f"{name}-slack-permission", forwarder, "sns.amazonaws.com", topic.arn, parent=topic)
                aws.sns.TopicSubscription(f"{name}-slack", topic=topic.arn, protocol="lambda", endpoint=forwarder.arn, opts=parent)
            case PagerDuty():
                key = secrets[channel.routing_key_secret]
                url = pulumi.Output.concat("https://events.pagerduty.com/integration/", key, "/enqueue")
                self._https(name, topic, pulumi.Output.secret(url), auto_confirms=True)
            case Webhook():
                self._https(name, topic, secrets[channel.url_secret], auto_confirms=False)
            case _:
                assert_never(channel)

    def _https(self, name: str, topic: aws.sns.Topic, endpoint: pulumi.Input[str], *, auto_confirms: bool) -> None:
        aws.sns.TopicSubscription(
            f"{name}-https",
            topic=topic.arn,
            protocol="https",
            endpoint=endpoint,
            endpoint_auto_confirms=auto_confirms,
            opts=pulumi.ResourceOptions(parent=topic),
        )
