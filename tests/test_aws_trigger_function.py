"""The AWS retraining-trigger function against an AWS API emulator (moto in server mode on loopback)."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_dsl.aws.state import DynamoState
from mlops_dsl.aws.trigger_function import Trigger, handler
from tests.helpers.moto import client
from tests.helpers.pipelines import create_churn_pipeline, execution_parameters

PIPELINE = "churn-prod-churn"
ALARM = "churn-prod-churn-churn-feature-drift"
QUALITY_ALARM = "churn-prod-churn-churn-quality"
CONFIG = {
    "models": {"churn": {"pipeline": PIPELINE, "cooldown_seconds": 6 * 3600, "dedup_seconds": 3600, "max_concurrent_runs": 1}},
    "alarms": {ALARM: {"model": "churn", "monitor": "churn-feature-drift"}, QUALITY_ALARM: {"model": "churn", "monitor": "churn-quality"}},
    "sources": [{"bucket": "churn-prod-data", "prefix": "raw/churn_labels/", "source": "churn_labels", "models": ["churn"]}],
}
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Aws:
    def __init__(self, endpoint: str, name: str) -> None:
        self.endpoint = endpoint
        self.table_name = f"trigger-{name}"
        dynamodb = client("dynamodb", endpoint)
        dynamodb.create_table(
            TableName=self.table_name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.sagemaker = client("sagemaker", endpoint)
        self.pipeline = f"{PIPELINE}-{name}"
        create_churn_pipeline(self.sagemaker, client("iam", endpoint), self.pipeline)

    def trigger(self, min_new_rows: int = 1) -> Trigger:
        """A fresh function instance (as a new Lambda invocation environment would be)."""
        table = boto3.resource(
            "dynamodb", endpoint_url=self.endpoint, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
        ).Table(self.table_name)
        config = json.loads(json.dumps(CONFIG))
        config["models"]["churn"]["pipeline"] = self.pipeline
        config["models"]["churn"]["min_new_rows"] = {"churn_labels": min_new_rows}
        return Trigger(config, DynamoState(table), client("sagemaker", self.endpoint), client("s3", self.endpoint))

    def executions(self) -> list[dict[str, Any]]:
        return list(self.sagemaker.list_pipeline_executions(PipelineName=self.pipeline)["PipelineExecutionSummaries"])

    def parameters(self, arn: str) -> dict[str, str]:
        return execution_parameters(self.sagemaker, arn)


def alarm(name: str = ALARM, at: datetime = T0, state: str = "ALARM") -> dict[str, Any]:
    return {
        "version": "0",
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "time": at.isoformat().replace("+00:00", "Z"),
        "detail": {"alarmName": name, "state": {"value": state, "reason": "Threshold Crossed"}, "previousState": {"value": "OK"}},
    }


def finished(arn: str, at: datetime, status: str = "Succeeded") -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "time": at.isoformat(),
        "detail": {"pipelineExecutionArn": arn, "currentPipelineExecutionStatus": status, "previousPipelineExecutionStatus": "Executing"},
    }


def test_fifty_duplicate_alarm_events_start_exactly_one_execution(endpoint: str) -> None:
    aws = Aws(endpoint, "storm")
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def invoke(i: int) -> None:
        result = handler(alarm(at=T0 + timedelta(seconds=i % 5)), trigger=aws.trigger())  # concurrent invocations, like a storm
        with lock:
            results.append(result)

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kinds = [r["decisions"][0]["kind"] for r in results]
    assert kinds.count("started") == 1, kinds
    assert set(kinds) <= {"started", "duplicate", "concurrency"}
    [execution] = aws.executions()
    parameters = aws.parameters(execution["PipelineExecutionArn"])
    assert parameters["TriggerReason"] == "alert:churn-feature-drift (alarm churn-prod-churn-churn-feature-drift entered ALARM)"


def test_a_run_going_blocks_a_second_and_the_cooldown_holds_after_it(endpoint: str) -> None:
    aws = Aws(endpoint, "limits")
    first = handler(alarm(), trigger=aws.trigger())["decisions"][0]
    assert first["kind"] == "started"
    # A different trigger while the run goes: held back by the concurrency limit.
    second = handler(alarm(QUALITY_ALARM, at=T0 + timedelta(minutes=10)), trigger=aws.trigger())["decisions"][0]
    assert second["kind"] == "concurrency"
    # The execution ends (EventBridge tells the function); inside the 6h cooldown another trigger is held back.
    [execution] = aws.executions()
    assert (
        handler(finished(execution["PipelineExecutionArn"], T0 + timedelta(minutes=40)), trigger=aws.trigger())["run_id"] == first["run_id"]
    )
    held = handler(alarm(at=T0 + timedelta(hours=2)), trigger=aws.trigger())["decisions"][0]
    assert held["kind"] == "cooldown" and "within the 6h cooldown" in held["reason"]
    assert len(aws.executions()) == 1
    after = handler(alarm(at=T0 + timedelta(hours=6, minutes=1)), trigger=aws.trigger())["decisions"][0]
    assert after["kind"] == "started" and len(aws.executions()) == 2


def test_new_data_under_the_raw_prefix_starts_a_run(endpoint: str) -> None:
    aws = Aws(endpoint, "data")
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": T0.isoformat(),
        "detail": {"bucket": {"name": "churn-prod-data"}, "object": {"key": "raw/churn_labels/part-2026-11-24.parquet"}},
    }
    [decision] = handler(event, trigger=aws.trigger())["decisions"]
    assert decision["kind"] == "started" and decision["trigger"] == "new_data:churn_labels"
    [execution] = aws.executions()
    assert aws.parameters(execution["PipelineExecutionArn"])["TriggerReason"].endswith(
        "s3://churn-prod-data/raw/churn_labels/part-2026-11-24.parquet)"
    )


def new_object(key: str, at: datetime) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": at.isoformat(),
        "detail": {"bucket": {"name": "churn-prod-data"}, "object": {"key": key}},
    }


def test_new_rows_accumulate_until_the_minimum_then_a_run_takes_them(endpoint: str) -> None:
    aws = Aws(endpoint, "rows")
    s3 = client("s3", endpoint)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="churn-prod-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def upload(name: str, rows: int) -> str:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"customer_id": list(range(rows)), "churned": [i % 2 for i in range(rows)]}), buffer)
        key = f"raw/churn_labels/{name}.parquet"
        s3.put_object(Bucket="churn-prod-data", Key=key, Body=buffer.getvalue())
        return key

    [first] = handler(new_object(upload("a", 300), T0), trigger=aws.trigger(min_new_rows=500))["decisions"]
    assert (first["action"], first["kind"], first["reason"]) == ("skip", "waiting", "300 new rows of the 500 the trigger needs")
    assert aws.executions() == []
    [second] = handler(new_object(upload("b", 250), T0 + timedelta(minutes=5)), trigger=aws.trigger(min_new_rows=500))["decisions"]
    assert second["kind"] == "started"
    assert len(aws.executions()) == 1
    # The run took the 550 rows: the next object starts counting from zero.
    [third] = handler(new_object(upload("c", 100), T0 + timedelta(minutes=10)), trigger=aws.trigger(min_new_rows=500))["decisions"]
    assert third["reason"] == "100 new rows of the 500 the trigger needs"
    # What is not Parquet cannot be counted: refused with its reason, nothing recorded as rows.
    s3.put_object(Bucket="churn-prod-data", Key="raw/churn_labels/notes.txt", Body=b"customer_id,churned\n1,0\n")
    rejected = handler(new_object("raw/churn_labels/notes.txt", T0 + timedelta(minutes=15)), trigger=aws.trigger(min_new_rows=500))
    assert rejected["status"] == "rejected" and "magic bytes" in rejected["reason"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([1, 2], "must be a JSON object"),
        ({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}, "no 'detail' object"),
        (alarm(state="OK"), "moved to OK, not ALARM"),
        (alarm("someone-elses-alarm"), "is not a retraining trigger"),
        ({**alarm(), "time": "yesterday"}, "not an ISO timestamp"),
        (
            {
                "source": "aws.s3",
                "detail-type": "Object Created",
                "detail": {"bucket": {"name": "churn-prod-data"}, "object": {"key": "other/x.parquet"}},
            },
            "no watched source prefix",
        ),
        ({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}, "unsupported event"),
        ({"model": "fraud"}, "unknown model 'fraud'"),
        (
            {"source": "aws.sagemaker", "detail-type": "SageMaker Model Building Pipeline Execution Status Change", "detail": {}},
            "lacks detail.pipelineExecutionArn",
        ),
    ],
)
def test_malformed_events_are_rejected_with_a_logged_reason_and_no_crash(
    endpoint: str, event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    aws = Aws(endpoint, f"bad-{abs(hash(json.dumps(event, default=str))) % 10**8}")
    result = handler(event, trigger=aws.trigger())
    assert result["status"] == "rejected" and reason in result["reason"]
    assert reason in caplog.text
    assert aws.executions() == []


def test_a_manual_invocation_starts_a_run_with_its_reason(endpoint: str, tmp_path: Path) -> None:
    aws = Aws(endpoint, "manual")
    [decision] = handler({"model": "churn", "reason": "new feature added"}, trigger=aws.trigger())["decisions"]
    assert decision["kind"] == "started"
    assert aws.parameters(aws.executions()[0]["PipelineExecutionArn"])["TriggerReason"] == "manual (new feature added)"
