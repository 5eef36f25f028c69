"""Retraining on AWS: alarms, new data and schedules reach the trigger function through EventBridge.

The function (packaged from :mod:`mlops_dsl.aws.trigger_function`, sharing its
decision policy with the runtime trigger) keeps its state in a DynamoDB table
and starts the model's pipeline with the trigger reason as a parameter. It
also hears when executions end, so a run going blocks a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement
from components.aws.functions import function, invoke_on
from mlops_dsl.contracts.aws import TRIGGER_CONFIG_ENV, TRIGGER_TABLE_ENV, TriggerAlarm, TriggerConfig, TriggerModel, TriggerSource
from mlops_dsl.spec.retraining import OnAlert, OnNewData, OnSchedule
from mlops_dsl.spec.schedules import eventbridge_cron


@dataclass(frozen=True)
class RetrainingTriggerArgs:
    """Inputs of :class:`RetrainingTrigger`."""

    account: Account
    pipelines: dict[str, pulumi.Output[str]]
    """Each model's pipeline ARN."""
    data_bucket: pulumi.Input[str]


class RetrainingTrigger(pulumi.ComponentResource):
    """The trigger function, its state table, and the EventBridge rules that feed it."""

    function_name: pulumi.Output[str]
    """The trigger function (invoke it with {"model": ..., "reason": ...} to retrain by hand)."""

    def __init__(self, name: str, args: RetrainingTriggerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:RetrainingTrigger", name, {}, opts)
        account = args.account
        names = account.names
        platform = account.spec.platform
        table = aws.dynamodb.Table(
            f"{name}-state",
            name=names.table("retraining-state"),
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}],
            ttl={"attribute_name": "expires", "enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": account.kms_key_arn},
            point_in_time_recovery={"enabled": True},
            tags=account.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        alarms = {
            names.alarm(model.name, trigger.alert): TriggerAlarm(model=model.name, monitor=trigger.alert)
            for model in platform.models
            for trigger in model.retraining.triggers
            if isinstance(trigger, OnAlert)
        }
        sources = {s.name: s for s in platform.feature_store.sources}
        prefixes: dict[str, str] = {}  # the raw-data prefix of each watched source
        watchers: dict[str, list[str]] = {}  # the models each watched source retrains
        for model in platform.models:
            for trigger in model.retraining.triggers:
                if isinstance(trigger, OnNewData):
                    prefixes[trigger.source] = sources[trigger.source].path.strip("/") + "/"
                    watchers.setdefault(trigger.source, []).append(model.name)
        models = {
            m.name: TriggerModel(
                pipeline=names.pipeline(m.name),
                cooldown_seconds=int(m.retraining.cooldown.total_seconds()),
                dedup_seconds=int(m.retraining.dedup_window.total_seconds()),
                max_concurrent_runs=m.retraining.max_concurrent_runs,
                min_new_rows={t.source: t.min_new_rows for t in m.retraining.triggers if isinstance(t, OnNewData)},
            )
            for m in platform.models
        }
        config = pulumi.Output.from_input(args.data_bucket).apply(
            lambda bucket: TriggerConfig(
                models=models,
                alarms=alarms,
                sources=[
                    TriggerSource(prefix=prefixes[source], source=source, models=watched, bucket=bucket)
                    for source, watched in watchers.items()
                ],
            )
        )
        statements = [
            statement(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"], [table.arn]),
            statement(["sagemaker:StartPipelineExecution", "sagemaker:ListPipelineExecutions"], list(args.pipelines.values())),
            statement(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [account.kms_key_arn]),
        ]
        counted = sorted(
            {
                sources[t.source].path.strip("/") + "/"
                for m in platform.models
                for t in m.retraining.triggers
                if isinstance(t, OnNewData) and t.min_new_rows > 1
            }
        )
        if counted:  # rows are read from new objects' Parquet footers, under these prefixes only
            statements.append(
                statement(
                    ["s3:GetObject"], [pulumi.Output.concat("arn:aws:s3:::", args.data_bucket, "/", prefix, "*") for prefix in counted]
                )
            )
        trigger = function(
            f"{name}-function",
            account=account,
            role="trigger",
            statements=statements,
            environment={TRIGGER_TABLE_ENV: table.name, TRIGGER_CONFIG_ENV: pulumi.Output.json_dumps(config)},
            parent=self,
        )
        patterns: dict[str, pulumi.Input[str]] = {}
        if alarms:
            patterns["alarms"] = pulumi.Output.json_dumps(
                {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "detail": {"alarmName": sorted(alarms), "state": {"value": ["ALARM"]}},
                }
            )
        if watchers:
            patterns["new-data"] = pulumi.Output.json_dumps(
                {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [args.data_bucket]},
                        "object": {"key": [{"prefix": prefix} for prefix in prefixes.values()]},
                    },
                }
            )
        patterns["runs-ended"] = pulumi.Output.json_dumps(
            {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
                "detail": {
                    "pipelineArn": list(args.pipelines.values()),
                    "currentPipelineExecutionStatus": ["Succeeded", "Failed", "Stopped"],
                },
            }
        )
        for kind, pattern in patterns.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{kind}",
                name=names.rule("retraining", kind),
                description=f"Retraining trigger: {kind}",
                event_pattern=pattern,
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            invoke_on(f"{name}-{kind}", rule, trigger)
        for model in platform.models:
            for index, scheduled in enumerate(t for t in model.retraining.triggers if isinstance(t, OnSchedule)):
                rule = aws.cloudwatch.EventRule(
                    f"{name}-{model.name}-schedule-{index}",
                    name=names.rule(model.name, "retraining-schedule", str(index)),
                    description=f"Scheduled retraining check of {model.name}: {scheduled.cron}",
                    schedule_expression=eventbridge_cron(scheduled.cron),
                    tags=account.tags,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                invoke_on(
                    f"{name}-{model.name}-schedule-{index}", rule, trigger, {"model": model.name, "reason": f"schedule ({scheduled.cron})"}
                )
        self.function_name = trigger.name
        self.register_outputs({"function_name": self.function_name})
