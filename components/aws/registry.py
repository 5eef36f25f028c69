"""The model registry on AWS: a model package group per model, and the functions that act on versions.

The deploy function rolls a package out when it is approved (manually, or by
the pipeline when the gate passes and approval is automatic); the batch
function scores the data set on each model's batch schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement
from components.aws.functions import function, invoke_on
from mlops_dsl.contracts.aws import BATCH_CONFIG_ENV, DEPLOY_CONFIG_ENV, BatchConfig, BatchSettings, DeployConfig, DeploySettings
from mlops_dsl.spec.schedules import eventbridge_cron


@dataclass(frozen=True)
class ModelRegistryArgs:
    """Inputs of :class:`ModelRegistry`."""

    account: Account
    deploy_settings: dict[str, pulumi.Output[DeploySettings]]
    """The serving settings of each online model, by model name."""
    roles: dict[str, pulumi.Output[str]]
    """The role each model's containers run as, by model name."""
    data_bucket: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]


class ModelRegistry(pulumi.ComponentResource):
    """Model package groups, and the deploy and batch-scoring functions."""

    groups: pulumi.Output[dict[str, str]]
    """Model package group names by model."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ModelRegistry", name, {}, opts)
        account = args.account
        names = account.names
        platform = account.spec.platform
        groups = {m.name: names.model_package_group(m.name) for m in platform.models}
        for model in platform.models:
            aws.sagemaker.ModelPackageGroup(
                f"{name}-{model.name}",
                model_package_group_name=groups[model.name],
                model_package_group_description=f"Versions of {model.name}: {model.description or model.task}",
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        artifacts_arn = pulumi.Output.concat("arn:aws:s3:::", args.artifacts_bucket)
        online = {m: s for m, s in args.deploy_settings.items()}
        if online:
            self._deploy_function(name, account, groups, online, artifacts_arn)
        batched = [m for m in platform.models if m.serving.batch is not None]
        if batched:
            self._batch_function(name, account, groups, batched, args)
        self.groups = pulumi.Output.from_input(groups)
        self.register_outputs({"groups": self.groups})

    def _deploy_function(
        self,
        name: str,
        account: Account,
        groups: dict[str, str],
        settings: dict[str, pulumi.Output[DeploySettings]],
        artifacts_arn: pulumi.Output[str],
    ) -> None:
        names = account.names
        endpoints = [names.endpoint(model) for model in settings]
        roles = [s.apply(lambda v: v["role_arn"]) for s in settings.values()]
        monitor_roles = [s.apply(lambda v: v["monitor_role_arn"]) for s in settings.values()]
        sm = account.arn
        config = pulumi.Output.all(**settings).apply(
            lambda values: DeployConfig(groups={groups[model]: value for model, value in values.items()})
        )
        deploy = function(
            f"{name}-deploy",
            account=account,
            role="deploy",
            statements=[
                statement(["sagemaker:DescribeModelPackage"], [sm("sagemaker", f"model-package/{groups[m]}/*") for m in settings]),
                statement(
                    [
                        "sagemaker:CreateModel",
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:UpdateEndpoint",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:AddTags",
                    ],
                    [
                        *[sm("sagemaker", f"model/{endpoint}-v*") for endpoint in endpoints],
                        *[sm("sagemaker", f"endpoint-config/{endpoint}-v*") for endpoint in endpoints],
                        *[sm("sagemaker", f"endpoint/{endpoint}") for endpoint in endpoints],
                    ],
                ),
                statement(
                    [
                        "sagemaker:DescribeMonitoringSchedule",
                        "sagemaker:CreateMonitoringSchedule",
                        "sagemaker:DescribeModelQualityJobDefinition",
                        "sagemaker:CreateModelQualityJobDefinition",
                        "sagemaker:AddTags",
                    ],
                    [
                        *[
                            sm("sagemaker", f"monitoring-schedule/{names.monitoring(model, kind)}")
                            for model in settings
                            for kind in ("data-quality", "model-quality")
                        ],
                        *[
                            sm("sagemaker", f"model-quality-job-definition/{names.monitoring(model, 'model-quality')}")
                            for model in settings
                        ],
                        *[sm("sagemaker", f"data-quality-job-definition/{names.monitoring(model, 'data-quality')}") for model in settings],
                    ],
                ),
                statement(
                    ["iam:PassRole"],
                    [*roles, *monitor_roles],
                    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                statement(
                    [
                        "application-autoscaling:RegisterScalableTarget",
                        "application-autoscaling:PutScalingPolicy",
                        "application-autoscaling:DescribeScalableTargets",
                    ],
                    ["*"],
                ),
                statement(["cloudwatch:DescribeAlarms"], [sm("cloudwatch", f"alarm:{account.names.prefix}-*")]),
                statement(["s3:GetObject"], [pulumi.Output.concat(artifacts_arn, f"/pipelines/{model}/*") for model in settings]),
                statement(
                    ["s3:PutObject"],
                    [
                        *[pulumi.Output.concat(artifacts_arn, f"/models/{model}/production/*") for model in settings],
                        *[pulumi.Output.concat(artifacts_arn, f"/monitoring/{model}/baseline/*") for model in settings],
                    ],
                ),
                statement(
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], [account.kms_key_arn]
                ),
            ],
            environment={DEPLOY_CONFIG_ENV: pulumi.Output.json_dumps(config)},
            parent=self,
            timeout=120,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-approvals",
            name=names.rule("model-approvals"),
            description="Approved model packages of this platform deploy to their endpoints",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Model Package State Change"],
                    "detail": {"ModelPackageGroupName": [groups[m] for m in settings], "ModelApprovalStatus": ["Approved"]},
                }
            ),
            tags=account.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        invoke_on(f"{name}-approvals", rule, deploy)

    def _batch_function(self, name: str, account: Account, groups: dict[str, str], models: list[Any], args: ModelRegistryArgs) -> None:
        names = account.names
        sm = account.arn
        data_arn = pulumi.Output.concat("arn:aws:s3:::", args.data_bucket)
        artifacts_arn = pulumi.Output.concat("arn:aws:s3:::", args.artifacts_bucket)
        config = pulumi.Output.all(
            roles=pulumi.Output.all(**{m.name: args.roles[m.name] for m in models}),
            data_bucket=args.data_bucket,
            artifacts_bucket=args.artifacts_bucket,
            kms_key=account.kms_key_arn,
        ).apply(
            lambda values: BatchConfig(
                models={
                    m.name: BatchSettings(
                        model=m.name,
                        group=groups[m.name],
                        endpoint=names.endpoint(m.name),
                        role_arn=values["roles"][m.name],
                        input=f"s3://{values['data_bucket']}/{m.serving.batch.input.strip('/')}",
                        output=f"s3://{values['artifacts_bucket']}/{m.serving.batch.output.strip('/')}",
                        kms_key=values["kms_key"],
                        instance_type=m.serving.batch.resources.instance_type,
                        instance_count=m.serving.batch.replicas,
                    )
                    for m in models
                }
            )
        )
        batch = function(
            f"{name}-batch",
            account=account,
            role="batch",
            statements=[
                statement(["sagemaker:ListModelPackages", "sagemaker:ListModels"], ["*"]),
                statement(
                    ["sagemaker:CreateModel", "sagemaker:CreateTransformJob", "sagemaker:AddTags"],
                    [
                        *[sm("sagemaker", f"model/{names.endpoint(m.name)}-v*") for m in models],
                        *[sm("sagemaker", f"transform-job/{names.endpoint(m.name)}-batch-*") for m in models],
                    ],
                ),
                statement(["sagemaker:DescribeModelPackage"], [sm("sagemaker", f"model-package/{groups[m.name]}/*") for m in models]),
                statement(
                    ["iam:PassRole"],
                    [args.roles[m.name] for m in models],
                    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                statement(["s3:GetObject"], [pulumi.Output.concat(data_arn, f"/{m.serving.batch.input.strip('/')}/*") for m in models]),
                statement(
                    ["s3:PutObject"], [pulumi.Output.concat(artifacts_arn, f"/{m.serving.batch.output.strip('/')}/*") for m in models]
                ),
                statement(
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], [account.kms_key_arn]
                ),
            ],
            environment={BATCH_CONFIG_ENV: pulumi.Output.json_dumps(config)},
            parent=self,
        )
        for model in models:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{model.name}-batch-schedule",
                name=names.rule(model.name, "batch"),
                description=f"Batch scoring of {model.name}: {model.serving.batch.schedule}",
                schedule_expression=eventbridge_cron(model.serving.batch.schedule),
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            invoke_on(f"{name}-{model.name}-batch-schedule", rule, batch, payload={"model": model.name})
