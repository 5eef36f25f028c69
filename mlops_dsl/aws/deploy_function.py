"""The AWS deploy function: an approved model package rolls out to its endpoint.

EventBridge invokes it for every "SageMaker Model Package State Change" of a
platform's model package groups. For an approved package it creates a
SageMaker model and an endpoint configuration (with data capture at the
spec's sampling rate), then creates the endpoint if it does not exist yet or
updates it, as a blue/green canary traffic shift with automatic rollback on
the spec's alarms where the spec declares a canary. It keeps target-tracking
autoscaling within the spec's bounds, publishes the new version's model,
evaluation and drift baseline where the next pipeline run and Model Monitor
look for them, and starts Model Monitor's data-quality schedule.

Infrastructure and model versions stay separate: Pulumi creates everything
that does not depend on a model (roles, buckets, alarms, this function), and
this function creates what does, so declaring an endpoint never needs a model
that does not exist yet, and a new version never replaces the infrastructure.

Configuration: ``MLOPS_DEPLOY_CONFIG`` (JSON written by Pulumi) maps each model
package group to its endpoint settings (:class:`mlops_dsl.contracts.aws.DeployConfig`).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from mlops_dsl.contracts.aws import DEPLOY_CONFIG_ENV, DeployConfig, DeploySettings, MonitoringSettings, QualitySettings
from mlops_dsl.contracts.names import TIMESTAMP, endpoint_config_name, sagemaker_model_name

log = logging.getLogger("mlops.deploy")
log.setLevel(logging.INFO)
VARIANT = "primary"


class IgnoredEventError(Exception):
    """An event that needs no deployment (or is malformed); the message says why."""


def endpoint_config_request(settings: DeploySettings, name: str, model_name: str) -> dict[str, Any]:
    """CreateEndpointConfig: one variant, data capture at the spec's rate, encrypted with the platform key."""
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT,
                "ModelName": model_name,
                "InstanceType": settings["instance_type"],
                "InitialInstanceCount": settings["initial_instance_count"],
            }
        ],
        "KmsKeyId": settings["kms_key"],
        "Tags": [{"Key": "mlops:model", "Value": settings["model"]}],
    }
    capture = settings["capture"]
    if capture["enabled"]:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": capture["sampling_percent"],
            "DestinationS3Uri": capture["destination"],
            "KmsKeyId": settings["kms_key"],
            "CaptureOptions": [{"CaptureMode": mode.capitalize()} for mode in capture["modes"]],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        }
    return request


def update_endpoint_request(settings: DeploySettings, endpoint_config: str) -> dict[str, Any]:
    """UpdateEndpoint: a canary traffic shift (or all at once), rolled back automatically if a spec alarm fires."""
    canary = settings.get("canary")
    if canary:
        routing = {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": canary["percent"]},
            "WaitIntervalInSeconds": canary["bake_seconds"],
        }
    else:
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
    request: dict[str, Any] = {
        "EndpointName": settings["endpoint"],
        "EndpointConfigName": endpoint_config,
        "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, "TerminationWaitInSeconds": 600}},
    }
    if settings["rollback_alarms"]:
        request["DeploymentConfig"]["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in settings["rollback_alarms"]]}
    return request


def monitoring_schedule_request(settings: DeploySettings, kind: str = "DataQuality") -> dict[str, Any]:
    """CreateMonitoringSchedule: a Model Monitor job (data quality, or model quality) on the endpoint's traffic."""
    job: MonitoringSettings | QualitySettings | None = settings["monitoring"] if kind == "DataQuality" else settings["quality"]
    if job is None:
        raise ValueError(f"model {settings['model']} has no model-quality settings")
    return {
        "MonitoringScheduleName": job["schedule"],
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": settings["monitoring"]["cron"]},
            "MonitoringJobDefinitionName": job["job_definition"],
            "MonitoringType": kind,
        },
        "Tags": [{"Key": "mlops:model", "Value": settings["model"]}],
    }


def quality_job_request(settings: DeploySettings) -> dict[str, Any]:
    """CreateModelQualityJobDefinition: the spec's quality metric from captured predictions and ground truth.

    Ground truth is uploaded under ``ground-truth/<model>/`` in Model Monitor's
    format, keyed by the captured inference ids. The probability is read from
    the Open Inference Protocol response (one row per request).
    """
    quality = settings["quality"]
    if quality is None:
        raise ValueError(f"model {settings['model']} has no model-quality settings")
    endpoint_input: dict[str, Any] = {"EndpointName": settings["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint"}
    if quality["problem_type"] == "BinaryClassification":
        endpoint_input.update({"ProbabilityAttribute": "outputs[0].data[0]", "ProbabilityThresholdAttribute": 0.5})
    else:
        endpoint_input["InferenceAttribute"] = "outputs[0].data[0]"
    return {
        "JobDefinitionName": quality["job_definition"],
        "ModelQualityAppSpecification": {"ImageUri": quality["image"], "ProblemType": quality["problem_type"]},
        "ModelQualityJobInput": {"EndpointInput": endpoint_input, "GroundTruthS3Input": {"S3Uri": quality["ground_truth"]}},
        "ModelQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": quality["output"], "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}
            ],
            "KmsKeyId": settings["kms_key"],
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": quality["instance_type"],
                "VolumeSizeInGB": 20,
                "VolumeKmsKeyId": settings["kms_key"],
            }
        },
        "RoleArn": settings["monitor_role_arn"],
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "mlops:model", "Value": settings["model"]}],
    }


def scaling_requests(settings: DeploySettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """RegisterScalableTarget and PutScalingPolicy: target tracking within the spec's bounds."""
    resource = f"endpoint/{settings['endpoint']}/variant/{VARIANT}"
    scaling = settings["autoscaling"]
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": scaling["min"],
        "MaxCapacity": scaling["max"],
    }
    if scaling["metric"] == "requests_per_second":
        # SageMaker counts invocations per instance per minute.
        tracking: dict[str, Any] = {
            "TargetValue": float(scaling["target"]) * 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        }
    else:
        tracking = {
            "TargetValue": float(scaling["target"]),
            "CustomizedMetricSpecification": {
                "MetricName": "CPUUtilization",
                "Namespace": "/aws/sagemaker/Endpoints",
                "Dimensions": [{"Name": "EndpointName", "Value": settings["endpoint"]}, {"Name": "VariantName", "Value": VARIANT}],
                "Statistic": "Average",
            },
        }
    tracking.update({"ScaleInCooldown": 300, "ScaleOutCooldown": 60})
    policy = {
        "PolicyName": f"{settings['endpoint']}-target-tracking",
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": tracking,
    }
    return target, policy


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class Deployer:
    """Rolls approved model packages out to their endpoints."""

    def __init__(self, config: DeployConfig, sagemaker: Any, autoscaling: Any, s3: Any, clock: Any = None) -> None:
        self.config = config
        self.sagemaker = sagemaker
        self.autoscaling = autoscaling
        self.s3 = s3
        self.clock = clock or (lambda: datetime.now(UTC))

    def settings_for(self, event: Any) -> tuple[DeploySettings, dict[str, Any]]:
        if not isinstance(event, dict) or event.get("detail-type") != "SageMaker Model Package State Change":
            raise IgnoredEventError(
                f"not a model package state change: {event.get('detail-type') if isinstance(event, dict) else type(event).__name__!r}"
            )
        detail = event.get("detail")
        if not isinstance(detail, dict) or not detail.get("ModelPackageArn") or not detail.get("ModelPackageGroupName"):
            raise IgnoredEventError("the event lacks detail.ModelPackageArn or detail.ModelPackageGroupName")
        settings = self.config["groups"].get(detail["ModelPackageGroupName"])
        if settings is None:
            raise IgnoredEventError(f"model package group {detail['ModelPackageGroupName']} is not one of this platform's")
        if detail.get("ModelApprovalStatus") != "Approved":
            raise IgnoredEventError(f"package {detail['ModelPackageArn']} is {detail.get('ModelApprovalStatus')}, not Approved")
        return settings, detail

    def _endpoint_configs(self, endpoint: str) -> set[str] | None:
        """The configuration the endpoint runs, and the one an update is rolling out; None if there is no endpoint yet."""
        from botocore.exceptions import ClientError

        try:
            described = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                return None
            raise
        pending = described.get("PendingDeploymentSummary") or {}
        return {name for name in (described.get("EndpointConfigName"), pending.get("EndpointConfigName")) if name}

    def _create_once(self, create: Any, **request: Any) -> None:
        """Create a model or endpoint configuration, unless one of that name exists (a repeated delivery made it)."""
        from botocore.exceptions import ClientError

        try:
            create(**request)
        except ClientError as error:
            message = str(error.response["Error"].get("Message", ""))
            if not (error.response["Error"]["Code"] == "ValidationException" and "already exist" in message):
                raise

    def _when(self, event: dict[str, Any]) -> datetime:
        """When the approval happened (the event's time: the same for a repeated delivery), else now."""
        try:
            return datetime.fromisoformat(str(event["time"]))
        except (KeyError, ValueError):
            return self.clock()

    def deploy(self, event: dict[str, Any]) -> dict[str, Any]:
        """Roll an approved package out; returns what was done.

        EventBridge delivers an event at least once: a repeated delivery names the same model and
        endpoint configuration (from the event's id and time), reuses them, and leaves an endpoint
        that already runs the configuration as it is. A re-approved older version is a new event,
        so it gets a model and configuration of its own.
        """
        settings, detail = self.settings_for(event)
        arn = detail["ModelPackageArn"]
        package = self.sagemaker.describe_model_package(ModelPackageName=arn)
        version = str(package.get("ModelPackageVersion") or arn.rsplit("/", 1)[-1])
        when = self._when(event)
        deployment = str(event.get("id") or f"{arn}@{when.strftime(TIMESTAMP)}")
        model_name = sagemaker_model_name(settings["endpoint"], version, deployment)
        model_request: dict[str, Any] = {
            "ModelName": model_name,
            "ExecutionRoleArn": settings["role_arn"],
            "Containers": [{"ModelPackageName": arn}],
        }
        vpc = settings.get("vpc")
        if vpc:
            model_request["VpcConfig"] = vpc
        self._create_once(self.sagemaker.create_model, **model_request)
        config_name = endpoint_config_name(settings["endpoint"], version, when)
        self._create_once(self.sagemaker.create_endpoint_config, **endpoint_config_request(settings, config_name, model_name))
        running = self._endpoint_configs(settings["endpoint"])
        if running is not None and config_name in running:
            action = "already running this version"
        elif running is not None:
            self.sagemaker.update_endpoint(**update_endpoint_request(settings, config_name))
            action = "updated with a canary traffic shift" if settings.get("canary") else "updated"
        else:
            self.sagemaker.create_endpoint(
                EndpointName=settings["endpoint"], EndpointConfigName=config_name, Tags=[{"Key": "mlops:model", "Value": settings["model"]}]
            )
            action = "created"
        target, policy = scaling_requests(settings)
        self.autoscaling.register_scalable_target(**target)
        self.autoscaling.put_scaling_policy(**policy)
        published = self._publish(settings, package)
        monitoring = self._ensure_monitoring(settings)
        summary = {
            "status": "deployed",
            "endpoint": settings["endpoint"],
            "version": version,
            "action": action,
            "model": model_name,
            "endpoint_config": config_name,
            "published": published,
            "monitoring": monitoring,
        }
        log.info(json.dumps(summary))
        return summary

    def _publish(self, settings: DeploySettings, package: dict[str, Any]) -> list[str]:
        """Copy the version's model, evaluation and baseline where the pipeline and Model Monitor read them."""
        bucket = settings["artifacts_bucket"]
        model = settings["model"]
        copies = []
        containers = package.get("InferenceSpecification", {}).get("Containers", [])
        if containers and containers[0].get("ModelDataUrl"):
            copies.append((containers[0]["ModelDataUrl"], f"models/{model}/production/model.tar.gz"))
        evaluation = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        if evaluation:
            copies.append((evaluation, f"models/{model}/production/evaluation.json"))
        drift = package.get("DriftCheckBaselines", {}).get("ModelDataQuality", {})
        for kind in ("Statistics", "Constraints"):
            uri = drift.get(kind, {}).get("S3Uri")
            if uri:
                copies.append((uri, f"monitoring/{model}/baseline/{kind.lower()}.json"))
        published = []
        for source, key in copies:
            source_bucket, source_key = _s3_parts(source)
            self.s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=settings["kms_key"],
            )
            published.append(f"s3://{bucket}/{key}")
        return published

    def _ensure_monitoring(self, settings: DeploySettings) -> str:
        """Start Model Monitor's schedules once the endpoint exists (they need it)."""
        done = [self._ensure_schedule(settings, "DataQuality")]
        quality = settings.get("quality")
        if quality:
            job_definition = quality["job_definition"]
            if not self._exists_quietly(lambda: self.sagemaker.describe_model_quality_job_definition(JobDefinitionName=job_definition)):
                self.sagemaker.create_model_quality_job_definition(**quality_job_request(settings))
            done.append(self._ensure_schedule(settings, "ModelQuality"))
        return "; ".join(done)

    def _exists_quietly(self, describe: Any) -> bool:
        from botocore.exceptions import ClientError

        try:
            describe()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException"):
                return False
            raise
        return True

    def _ensure_schedule(self, settings: DeploySettings, kind: str) -> str:
        request = monitoring_schedule_request(settings, kind)
        name = request["MonitoringScheduleName"]
        if self._exists_quietly(lambda: self.sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)):
            return f"schedule {name} already running"
        self.sagemaker.create_monitoring_schedule(**request)
        return f"schedule {name} created"


def handler(event: Any, context: Any = None, *, deployer: Deployer | None = None) -> dict[str, Any]:
    """The Lambda entry point."""
    import boto3

    if deployer is None:
        config: DeployConfig = json.loads(os.environ[DEPLOY_CONFIG_ENV])
        deployer = Deployer(config, boto3.client("sagemaker"), boto3.client("application-autoscaling"), boto3.client("s3"))
    try:
        return deployer.deploy(event)
    except IgnoredEventError as error:
        log.info(json.dumps({"ignored": str(error)}))
        return {"status": "ignored", "reason": str(error)}
