"""Retraining runs as SageMaker pipeline executions: started by the trigger function (and the trigger service on AWS).

The trigger reason and the run id travel as pipeline parameters; the names are the
contract with the pipeline definition the AWS target renders.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mlops_dsl.contracts.aws import RUN_ID_PARAMETER, TRIGGER_REASON_PARAMETER
from mlops_dsl.contracts.retraining import RunRequest, RunState


class SageMakerPipelineBackend:
    """Starts an execution of the model's SageMaker pipeline, with the trigger reason as a parameter."""

    def __init__(self, pipelines: dict[str, str], client: Any = None) -> None:
        self.pipelines = pipelines
        if client is None:
            import boto3

            client = boto3.client("sagemaker")
        self.client = client

    def start(self, request: RunRequest) -> str:
        response = self.client.start_pipeline_execution(
            PipelineName=self.pipelines[request.model],
            PipelineExecutionDisplayName=re.sub(r"[^a-zA-Z0-9-]", "-", request.run_id)[:82],
            PipelineParameters=[
                {"Name": TRIGGER_REASON_PARAMETER, "Value": request.reason[:1024]},
                {"Name": RUN_ID_PARAMETER, "Value": request.run_id},
            ],
            # Idempotent: a retried start of the same run is the same execution (32 to 128 characters).
            ClientRequestToken=hashlib.sha256(request.run_id.encode()).hexdigest(),
        )
        return f"arn:{response['PipelineExecutionArn']}"

    def status(self, run_id: str, reference: str) -> RunState:
        described = self.client.describe_pipeline_execution(PipelineExecutionArn=reference.removeprefix("arn:"))
        state = described["PipelineExecutionStatus"]
        if state in ("Executing", "Stopping"):
            return RunState("running")
        if state == "Succeeded":
            return RunState("succeeded", "completed")
        return RunState("failed", "error", None, described.get("FailureReason") or f"execution {state.lower()}")

    def active(self, model: str) -> int | None:
        executions = self.client.list_pipeline_executions(
            PipelineName=self.pipelines[model], SortBy="CreationTime", SortOrder="Descending", MaxResults=50
        )
        return sum(1 for e in executions.get("PipelineExecutionSummaries", []) if e.get("PipelineExecutionStatus") == "Executing")
