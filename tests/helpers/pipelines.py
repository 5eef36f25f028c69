"""Rendered SageMaker pipeline definitions for tests: the inputs a plan would give, and creating one in the emulator."""

from __future__ import annotations

import json
from typing import Any

from botocore.client import BaseClient

from components.aws.pipeline_definition import PipelineInputs, build
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from tests.helpers.churn import SPEC


def churn_prod() -> ResolvedSpec:
    return load_platform(SPEC, environment="prod")["prod"]


def inputs_for(spec: ResolvedSpec, model_name: str, role_arn: str = "") -> PipelineInputs:
    """What the AWS target passes once the buckets, key, role and feature groups exist."""
    model = spec.platform.model(model_name)
    views = {ref.partition(":")[0] for ref in model.features}
    return PipelineInputs(
        role_arn=role_arn or f"arn:aws:iam::123456789012:role/{model_name}-training",
        image=spec.platform.image,
        data_bucket="data-bucket",
        artifacts_bucket="artifacts-bucket",
        account_id="123456789012",
        kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        spec_uri="s3://artifacts-bucket/spec/prod/platform.json",
        pipeline=f"p-{model_name}",
        group=f"g-{model_name}",
        feature_groups={view: f"group-{view.replace('_', '-')}" for view in views},
    )


def create_churn_pipeline(sagemaker: BaseClient, iam: BaseClient, name: str) -> dict[str, Any]:
    """Create pipeline ``name`` in the emulator from churn-prod's rendered definition; returns the definition."""
    role = iam.create_role(RoleName=f"pipeline-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    spec = churn_prod()
    document = build(spec, "churn", inputs_for(spec, "churn", role_arn=role))
    sagemaker.create_pipeline(PipelineName=name, PipelineDefinition=document, RoleArn=role)
    return dict(json.loads(document))


def execution_parameters(sagemaker: BaseClient, execution_arn: str) -> dict[str, str]:
    """The parameters an execution was started with, each checked to be one its pipeline's definition declares.

    SageMaker refuses to start an execution with a parameter the definition
    does not declare; the emulator does not, so the check is made here.
    """
    given = {
        p["Name"]: p["Value"]
        for p in sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)["PipelineParameters"]
    }
    document = sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=execution_arn)["PipelineDefinition"]
    declared = {p["Name"] for p in json.loads(document)["Parameters"]}
    assert set(given) <= declared, f"parameters the definition does not declare: {sorted(set(given) - declared)}"
    return given
