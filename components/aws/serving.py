"""Serving one model on AWS: its endpoint's settings and execution role, and Model Monitor's jobs.

The endpoint itself is created by the deploy function when a version is
approved (see :mod:`mlops_dsl.aws.deploy_function`); this component declares
everything that does not depend on a model: the role the endpoint's
container runs as, where captured traffic goes, the autoscaling bounds, the
canary, the alarms that roll it back, and Model Monitor's data-quality job,
whose baseline the training pipeline computes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement
from components.aws.training import image_pull_statements
from mlops_dsl.contracts.aws import (
    MONITOR_FEATURES_ENV,
    AutoscalingSettings,
    CanarySettings,
    CaptureSettings,
    DeploySettings,
    MonitoringSettings,
    QualitySettings,
    VpcSettings,
)
from mlops_dsl.contracts.names import autonamed
from mlops_dsl.loading.aws_images import model_monitor_image
from mlops_dsl.spec.feature_store import column_of
from mlops_dsl.spec.monitoring import ModelQuality
from mlops_dsl.spec.platform import Model

MONITOR_SCHEDULE = "cron(0 * ? * * *)"  # hourly: Model Monitor's finest granularity
QUALITY_METRICS = {
    "roc_auc": "auc",
    "accuracy": "accuracy",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
}


@dataclass(frozen=True)
class ModelServingArgs:
    """Inputs of :class:`ModelServing`."""

    account: Account
    model: Model
    artifacts_bucket: pulumi.Input[str]
    preprocessor_uri: pulumi.Input[str]


class ModelServing(pulumi.ComponentResource):
    """The endpoint's role and settings, and Model Monitor's data-quality job definition."""

    endpoint_name: pulumi.Output[str]
    """The endpoint's name (fixed: alarms and the deploy function refer to it)."""
    role_arn: pulumi.Output[str]
    """The role the model's containers run as (endpoint and batch transform)."""
    deploy_settings: pulumi.Output[DeploySettings]
    """What the deploy function needs to roll a version of this model out."""

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ModelServing", name, {}, opts)
        account, model = args.account, args.model
        names = account.names
        endpoint = names.endpoint(model.name)
        image = account.spec.platform.image
        artifacts_arn = pulumi.Output.concat("arn:aws:s3:::", args.artifacts_bucket)
        role = account.role(
            f"{name}-endpoint-role",
            "sagemaker.amazonaws.com",
            [
                statement(["s3:GetObject"], [pulumi.Output.concat(artifacts_arn, f"/pipelines/{model.name}/*")]),
                statement(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], [account.kms_key_arn]),
                *image_pull_statements(image),
                statement(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [account.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{endpoint}:*")],
                ),
                statement(["cloudwatch:PutMetricData"], ["*"], Condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
            ],
            parent=self,
        )
        monitor_role = account.role(
            f"{name}-monitor-role",
            "sagemaker.amazonaws.com",
            [
                statement(["s3:ListBucket"], [artifacts_arn]),
                statement(
                    ["s3:GetObject"],
                    [
                        pulumi.Output.concat(artifacts_arn, f"/capture/{model.name}/*"),
                        pulumi.Output.concat(artifacts_arn, f"/monitoring/{model.name}/baseline/*"),
                        pulumi.Output.concat(artifacts_arn, f"/ground-truth/{model.name}/*"),
                        pulumi.Output.concat(artifacts_arn, "/code/*"),
                    ],
                ),
                statement(["s3:PutObject"], [pulumi.Output.concat(artifacts_arn, f"/monitoring/{model.name}/*")]),
                statement(
                    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], [account.kms_key_arn]
                ),
                statement(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [account.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs:*")],
                ),
                statement(
                    ["cloudwatch:PutMetricData"], ["*"], Condition={"StringLike": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/*"}}
                ),
                statement(["ecr:GetAuthorizationToken"], ["*"]),
            ],
            parent=self,
        )
        # The monitor role passes itself to its jobs (the deploy function creates the schedules).
        aws.iam.RolePolicy(
            f"{name}-monitor-pass-role",
            name=autonamed(f"{name}-monitor-pass-role", "role_policy"),
            role=monitor_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement(["iam:PassRole"], [monitor_role.arn])]}),
            opts=pulumi.ResourceOptions(parent=monitor_role),
        )
        monitoring = f"s3://{{bucket}}/monitoring/{model.name}"
        resources = model.training.resources
        vpc = account.target.vpc
        network = (
            {
                "vpc_config": {"subnets": vpc.subnet_ids, "security_group_ids": vpc.security_group_ids},
                "enable_inter_container_traffic_encryption": True,
            }
            if vpc
            else None
        )
        data_quality = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-data-quality",
            name=names.monitoring(model.name, "data-quality"),
            role_arn=monitor_role.arn,
            data_quality_app_specification={
                "image_uri": model_monitor_image(account.region),
                "record_preprocessor_source_uri": args.preprocessor_uri,
                "environment": {
                    MONITOR_FEATURES_ENV: json.dumps([column_of(f) for f in model.features]),
                    "publish_cloudwatch_metrics": "Enabled",
                },
            },
            data_quality_baseline_config={
                "constraints_resource": {
                    "s3_uri": pulumi.Output.from_input(args.artifacts_bucket).apply(
                        lambda b: f"{monitoring.format(bucket=b)}/baseline/constraints.json"
                    )
                },
                "statistics_resource": {
                    "s3_uri": pulumi.Output.from_input(args.artifacts_bucket).apply(
                        lambda b: f"{monitoring.format(bucket=b)}/baseline/statistics.json"
                    )
                },
            },
            data_quality_job_input={"endpoint_input": {"endpoint_name": endpoint, "local_path": "/opt/ml/processing/input/endpoint"}},
            data_quality_job_output_config={
                "kms_key_id": account.kms_key_arn,
                "monitoring_outputs": {
                    "s3_output": {
                        "s3_uri": pulumi.Output.from_input(args.artifacts_bucket).apply(
                            lambda b: f"{monitoring.format(bucket=b)}/data-quality"
                        ),
                        "local_path": "/opt/ml/processing/output",
                        "s3_upload_mode": "EndOfJob",
                    }
                },
            },
            job_resources={
                "cluster_config": {
                    "instance_count": 1,
                    "instance_type": resources.instance_type,
                    "volume_size_in_gb": 20,
                    "volume_kms_key_id": account.kms_key_arn,
                }
            },
            network_config=network,
            stopping_condition={"max_runtime_in_seconds": 3600},
            tags=account.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.deploy_settings = pulumi.Output.all(
            role_arn=role.arn,
            monitor_role_arn=monitor_role.arn,
            kms_key=account.kms_key_arn,
            bucket=args.artifacts_bucket,
            job_definition=data_quality.name,
        ).apply(lambda values: deploy_settings(account, model, **values))
        self.endpoint_name = pulumi.Output.from_input(endpoint)
        self.role_arn = role.arn
        self.register_outputs({"endpoint_name": self.endpoint_name, "role_arn": self.role_arn})


def deploy_settings(
    account: Account, model: Model, role_arn: str, monitor_role_arn: str, kms_key: str, bucket: str, job_definition: str
) -> DeploySettings:
    """The deploy function's settings for one model, once the roles, key, bucket and job definition are known."""
    names = account.names
    serving = model.serving
    scaling = serving.autoscaling
    health = [m.name for m in model.monitors if m.kind in ("latency", "error_rate")]
    canary = serving.canary
    quality = next((m for m in model.monitors if isinstance(m, ModelQuality)), None)
    settings = DeploySettings(
        model=model.name,
        endpoint=names.endpoint(model.name),
        role_arn=role_arn,
        monitor_role_arn=monitor_role_arn,
        instance_type=serving.resources.instance_type,
        initial_instance_count=serving.replicas,
        kms_key=kms_key,
        capture=CaptureSettings(
            enabled=serving.data_capture.enabled,
            sampling_percent=serving.data_capture.sampling_percent,
            destination=f"s3://{bucket}/capture/{model.name}",
            modes=list(serving.data_capture.capture),
        ),
        canary=CanarySettings(percent=canary.percent, bake_seconds=int(canary.bake_time.total_seconds())) if canary else None,
        rollback_alarms=[names.alarm(model.name, alert) for alert in (canary.rollback_on if canary else health)],
        autoscaling=AutoscalingSettings(
            min=scaling.min_replicas if scaling else serving.replicas,
            max=scaling.max_replicas if scaling else serving.replicas,
            metric=scaling.metric if scaling else "cpu",
            target=scaling.target if scaling else 70.0,
        ),
        artifacts_bucket=bucket,
        monitoring=MonitoringSettings(
            schedule=names.monitoring(model.name, "data-quality"), job_definition=job_definition, cron=MONITOR_SCHEDULE
        ),
        quality=(
            QualitySettings(
                job_definition=names.monitoring(model.name, "model-quality"),
                schedule=names.monitoring(model.name, "model-quality"),
                problem_type="Regression" if model.task == "regression" else "BinaryClassification",
                ground_truth=f"s3://{bucket}/ground-truth/{model.name}",
                output=f"s3://{bucket}/monitoring/{model.name}/model-quality",
                image=model_monitor_image(account.region),
                instance_type=model.training.resources.instance_type,
            )
            if quality is not None and serving.online
            else None
        ),
    )
    vpc = account.target.vpc
    if vpc:
        settings["vpc"] = VpcSettings(Subnets=vpc.subnet_ids, SecurityGroupIds=vpc.security_group_ids)
    return settings
