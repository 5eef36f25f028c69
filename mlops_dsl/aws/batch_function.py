"""The AWS batch-scoring function: on the spec's schedule, a batch transform with the approved version.

EventBridge invokes it on each model's batch schedule. It finds the group's
newest approved model package, makes sure a SageMaker model exists for it,
and starts a batch transform job over the input prefix into the output prefix.

Configuration: ``MLOPS_BATCH_CONFIG`` (JSON written by Pulumi), per model:
group, role, instance type and count, input and output S3 URIs, KMS key
(:class:`mlops_dsl.contracts.aws.BatchConfig`).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from mlops_dsl.contracts.aws import BATCH_CONFIG_ENV, BatchConfig, BatchSettings
from mlops_dsl.contracts.names import sagemaker_model_name, transform_job_name

log = logging.getLogger("mlops.batch")
log.setLevel(logging.INFO)


class NothingToScoreError(Exception):
    """No approved version to score with, or an event for no known model."""


def transform_request(settings: BatchSettings, job_name: str, model_name: str) -> dict[str, Any]:
    """CreateTransformJob over the input prefix, one JSON request per line, encrypted output."""
    return {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": settings["input"]}},
            "ContentType": "application/json",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": settings["output"], "KmsKeyId": settings["kms_key"], "AssembleWith": "Line"},
        "TransformResources": {
            "InstanceType": settings["instance_type"],
            "InstanceCount": settings["instance_count"],
            "VolumeKmsKeyId": settings["kms_key"],
        },
        "Tags": [{"Key": "mlops:model", "Value": settings["model"]}],
    }


def score(event: Any, config: BatchConfig, sagemaker: Any, now: datetime) -> dict[str, Any]:
    """Start one batch transform for the model the scheduled event names."""
    model = event.get("model") if isinstance(event, dict) else None
    settings = config["models"].get(model) if model else None
    if settings is None:
        raise NothingToScoreError(f"the event names no known model: {model!r}")
    packages = sagemaker.list_model_packages(
        ModelPackageGroupName=settings["group"], ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )["ModelPackageSummaryList"]
    if not packages:
        raise NothingToScoreError(f"model package group {settings['group']} has no approved version yet")
    arn = packages[0]["ModelPackageArn"]
    version = arn.rsplit("/", 1)[-1]
    model_name = sagemaker_model_name(settings["endpoint"], version)
    existing = sagemaker.list_models(NameContains=model_name)["Models"]
    if not any(m["ModelName"] == model_name for m in existing):
        sagemaker.create_model(ModelName=model_name, ExecutionRoleArn=settings["role_arn"], Containers=[{"ModelPackageName": arn}])
    job = transform_job_name(settings["endpoint"], now)
    sagemaker.create_transform_job(**transform_request(settings, job, model_name))
    summary = {"status": "started", "model": model, "version": version, "transform_job": job}
    log.info(json.dumps(summary))
    return summary


def handler(event: Any, context: Any = None, *, sagemaker: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    import boto3

    config: BatchConfig = json.loads(os.environ[BATCH_CONFIG_ENV])
    try:
        return score(event, config, sagemaker or boto3.client("sagemaker"), datetime.now(UTC))
    except NothingToScoreError as error:
        log.warning(json.dumps({"skipped": str(error)}))
        return {"status": "skipped", "reason": str(error)}
