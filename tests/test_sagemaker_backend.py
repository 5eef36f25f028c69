"""The SageMaker backend against an AWS API emulator (moto, server mode, on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_dsl.aws.pipelines import SageMakerPipelineBackend
from mlops_dsl.contracts.retraining import RunRequest
from tests.helpers.moto import client
from tests.helpers.pipelines import create_churn_pipeline, execution_parameters


def test_a_run_is_a_pipeline_execution_with_the_reason_as_a_parameter(endpoint: str) -> None:
    sagemaker = client("sagemaker", endpoint)
    create_churn_pipeline(sagemaker, client("iam", endpoint), "churn-churn")
    backend = SageMakerPipelineBackend({"churn": "churn-churn"}, client=sagemaker)

    reference = backend.start(RunRequest("churn-20261124-120000-abcdef", "churn", "alert:churn-feature-drift (fired 11:59)"))

    parameters = execution_parameters(sagemaker, reference.removeprefix("arn:"))
    assert parameters == {"TriggerReason": "alert:churn-feature-drift (fired 11:59)", "RunId": "churn-20261124-120000-abcdef"}
    # The emulator completes executions at once; the backend reads that back.
    assert backend.status("churn-20261124-120000-abcdef", reference).state == "succeeded"
    assert backend.active("churn") == 0


def test_an_unknown_pipeline_is_an_error_the_trigger_records(endpoint: str, tmp_path: Path) -> None:
    backend = SageMakerPipelineBackend({"churn": "no-such-pipeline"}, client=client("sagemaker", endpoint))
    with pytest.raises(Exception, match=r"(?i)pipeline"):
        backend.start(RunRequest("r", "churn", "manual"))
