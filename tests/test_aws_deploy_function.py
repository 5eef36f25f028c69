"""The AWS deploy and batch-scoring functions, against moto in server mode (and botocore's API models for
the two calls moto lacks)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_dsl.aws.batch_function import score, transform_request
from mlops_dsl.aws.deploy_function import (
    Deployer,
    endpoint_config_request,
    handler,
    monitoring_schedule_request,
    quality_job_request,
    update_endpoint_request,
)
from mlops_dsl.contracts.aws import BatchConfig, BatchSettings, DeploySettings
from tests.helpers.aws_api import Gap, request_errors
from tests.helpers.moto import client

GROUP = "churn-prod-churn"
ENDPOINT = "churn-prod-churn"


def settings(role: str, canary: bool = True) -> DeploySettings:
    return {
        "model": "churn",
        "endpoint": ENDPOINT,
        "role_arn": role,
        "instance_type": "ml.m5.large",
        "initial_instance_count": 2,
        "kms_key": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "capture": {
            "enabled": True,
            "sampling_percent": 25,
            "destination": "s3://churn-prod-artifacts/capture/churn",
            "modes": ["request", "response"],
        },
        "canary": {"percent": 10, "bake_seconds": 900} if canary else None,
        "rollback_alarms": ["churn-prod-churn-churn-latency-p99", "churn-prod-churn-churn-error-rate"],
        "autoscaling": {"min": 2, "max": 12, "metric": "cpu", "target": 70},
        "artifacts_bucket": "churn-prod-artifacts",
        "monitoring": {
            "schedule": "churn-prod-churn-data-quality",
            "job_definition": "churn-prod-churn-data-quality",
            "cron": "cron(0 * ? * * *)",
        },
        "monitor_role_arn": role or "arn:aws:iam::123456789012:role/monitor",
        "quality": {
            "job_definition": "churn-prod-churn-model-quality",
            "schedule": "churn-prod-churn-model-quality",
            "problem_type": "BinaryClassification",
            "ground_truth": "s3://churn-prod-artifacts/ground-truth/churn",
            "output": "s3://churn-prod-artifacts/monitoring/churn/model-quality",
            "image": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer",
            "instance_type": "ml.m5.xlarge",
        },
    }


class World:
    """An emulated account with a model package group, an approved package and its artifacts."""

    def __init__(self, endpoint: str) -> None:
        self.sagemaker = client("sagemaker", endpoint)
        self.s3 = client("s3", endpoint)
        self.autoscaling = client("application-autoscaling", endpoint)
        self.role = client("iam", endpoint).create_role(RoleName=f"endpoint-{id(self)}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for bucket in ("churn-prod-artifacts",):
            with contextlib.suppress(ClientError):
                self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for key in (
            "pipelines/run-1/model.tar.gz",
            "pipelines/run-1/evaluation.json",
            "pipelines/run-1/statistics.json",
            "pipelines/run-1/constraints.json",
        ):
            self.s3.put_object(Bucket="churn-prod-artifacts", Key=key, Body=b"{}")
        with contextlib.suppress(ClientError):
            self.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        self.schedules: dict[str, Any] = {}
        self.quality_jobs: dict[str, Any] = {}
        self.gap = Gap(
            self.sagemaker,
            {
                "update_endpoint": lambda **p: {"EndpointArn": f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{p['EndpointName']}"},
                "describe_monitoring_schedule": self._describe_schedule,
                "create_monitoring_schedule": self._create_schedule,
                "describe_model_quality_job_definition": self._describe_quality,
                "create_model_quality_job_definition": self._create_quality,
            },
        )

    def _describe_schedule(self, **params: Any) -> Any:
        if params["MonitoringScheduleName"] not in self.schedules:
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "not found"}}, "DescribeMonitoringSchedule")
        return self.schedules[params["MonitoringScheduleName"]]

    def _create_schedule(self, **params: Any) -> Any:
        self.schedules[params["MonitoringScheduleName"]] = params
        return {"MonitoringScheduleArn": "arn:aws:sagemaker:eu-west-1:123456789012:monitoring-schedule/x"}

    def _describe_quality(self, **params: Any) -> Any:
        if params["JobDefinitionName"] not in self.quality_jobs:
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "not found"}}, "DescribeModelQualityJobDefinition")
        return self.quality_jobs[params["JobDefinitionName"]]

    def _create_quality(self, **params: Any) -> Any:
        self.quality_jobs[params["JobDefinitionName"]] = params
        return {"JobDefinitionArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-quality-job-definition/x"}

    def register(self) -> str:
        package = self.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime:0.1.0",
                        "ModelDataUrl": "s3://churn-prod-artifacts/pipelines/run-1/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": "s3://churn-prod-artifacts/pipelines/run-1/evaluation.json"}
                }
            },
            DriftCheckBaselines={
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": "s3://churn-prod-artifacts/pipelines/run-1/statistics.json"},
                    "Constraints": {
                        "ContentType": "application/json",
                        "S3Uri": "s3://churn-prod-artifacts/pipelines/run-1/constraints.json",
                    },
                }
            },
            CustomerMetadataProperties={"trigger_reason": "alert:churn-feature-drift"},
        )
        return str(package["ModelPackageArn"])

    def deployer(self, canary: bool = True) -> Deployer:
        return Deployer(
            {"groups": {GROUP: settings(self.role, canary)}},
            self.gap,
            self.autoscaling,
            self.s3,
            clock=lambda: datetime(2026, 11, 24, 12, tzinfo=UTC),
        )


def approved(arn: str, status: str = "Approved", group: str = GROUP) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
            "ModelPackageVersion": int(arn.rsplit("/", 1)[-1]),
        },
    }


def test_the_first_approved_version_creates_the_endpoint_then_the_next_shifts_traffic_as_a_canary(endpoint: str) -> None:
    world = World(endpoint)
    first = world.register()
    result = handler(approved(first), deployer=world.deployer())
    assert (result["status"], result["action"]) == ("deployed", "created")
    described = world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    config = world.sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 25
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    [target] = world.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (f"endpoint/{ENDPOINT}/variant/primary", 2, 12)
    keys = {o["Key"] for o in world.s3.list_objects_v2(Bucket="churn-prod-artifacts", Prefix="models/")["Contents"]}
    assert keys == {"models/churn/production/model.tar.gz", "models/churn/production/evaluation.json"}
    assert (
        world.s3.head_object(Bucket="churn-prod-artifacts", Key="monitoring/churn/baseline/constraints.json")["ServerSideEncryption"]
        == "aws:kms"
    )
    assert result["monitoring"] == "schedule churn-prod-churn-data-quality created; schedule churn-prod-churn-model-quality created"
    [quality] = world.quality_jobs.values()
    assert quality["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    assert quality["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"] == "s3://churn-prod-artifacts/ground-truth/churn"

    second = world.register()
    world.sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved")
    result = handler(approved(second), deployer=world.deployer())
    assert result["action"] == "updated with a canary traffic shift"
    [(_operation, request)] = [call for call in world.gap.calls if call[0] == "UpdateEndpoint"]
    routing = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}, "WaitIntervalInSeconds": 900}
    assert [a["AlarmName"] for a in request["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]] == settings("")["rollback_alarms"]
    assert (
        result["monitoring"]
        == "schedule churn-prod-churn-data-quality already running; schedule churn-prod-churn-model-quality already running"
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"detail-type": "EC2 Instance State-change Notification"}, "not a model package state change"),
        ({"detail-type": "SageMaker Model Package State Change", "detail": {}}, "lacks detail.ModelPackageArn"),
        (approved("arn:aws:sagemaker:eu-west-1:123456789012:model-package/other/1", group="other"), "not one of this platform's"),
        (
            approved("arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-prod-churn/1", status="PendingManualApproval"),
            "not Approved",
        ),
    ],
)
def test_events_that_need_no_deployment_are_ignored_with_a_reason(endpoint: str, event: dict[str, Any], reason: str) -> None:
    world = World(endpoint)
    result = handler(event, deployer=world.deployer())
    assert result["status"] == "ignored" and reason in result["reason"]


def test_every_request_the_function_builds_is_valid_for_the_aws_api(endpoint: str) -> None:
    sagemaker = client("sagemaker", endpoint)
    for canary in (True, False):
        config = settings("arn:aws:iam::123456789012:role/endpoint", canary)
        assert request_errors(sagemaker, "CreateEndpointConfig", endpoint_config_request(config, "c", "m")) == ""
        assert request_errors(sagemaker, "UpdateEndpoint", update_endpoint_request(config, "c")) == ""
    assert request_errors(sagemaker, "CreateMonitoringSchedule", monitoring_schedule_request(settings("r"))) == ""
    assert request_errors(sagemaker, "CreateMonitoringSchedule", monitoring_schedule_request(settings("r"), "ModelQuality")) == ""
    assert (
        request_errors(sagemaker, "CreateModelQualityJobDefinition", quality_job_request(settings("arn:aws:iam::123456789012:role/m")))
        == ""
    )
    batch: BatchSettings = {
        "model": "churn",
        "group": GROUP,
        "endpoint": ENDPOINT,
        "role_arn": "r",
        "input": "s3://d/batch/in",
        "output": "s3://d/batch/out",
        "kms_key": "k",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
    }
    assert request_errors(sagemaker, "CreateTransformJob", transform_request(batch, "job", "model")) == ""
    # and the check itself can fail
    assert "EndpointConfigName" in request_errors(sagemaker, "UpdateEndpoint", {"EndpointName": "e"})


def test_batch_scoring_runs_a_transform_with_the_newest_approved_version(endpoint: str) -> None:
    world = World(endpoint)
    config: BatchConfig = {
        "models": {
            "churn": {
                "model": "churn",
                "group": GROUP,
                "endpoint": ENDPOINT,
                "role_arn": world.role,
                "input": "s3://churn-prod-data/batch/customers",
                "output": "s3://churn-prod-artifacts/batch/churn_scores",
                "kms_key": "k",
                "instance_type": "ml.m5.large",
                "instance_count": 1,
            }
        }
    }
    arn = world.register()
    world.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    result = score({"model": "churn"}, config, world.sagemaker, datetime(2026, 11, 24, 2, tzinfo=UTC))
    job = world.sagemaker.describe_transform_job(TransformJobName=result["transform_job"])
    assert job["ModelName"] == f"{ENDPOINT}-v{arn.rsplit('/', 1)[-1]}"
    assert job["TransformOutput"]["S3OutputPath"] == "s3://churn-prod-artifacts/batch/churn_scores"
    with pytest.raises(Exception, match="no known model"):
        score({"model": "fraud"}, config, world.sagemaker, datetime(2026, 11, 24, tzinfo=UTC))
    assert json.dumps(result)
