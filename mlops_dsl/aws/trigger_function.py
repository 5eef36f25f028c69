"""The AWS retraining trigger: a Lambda function behind EventBridge.

It receives CloudWatch alarm state changes (an alarm entering ALARM), S3
object-created events under a source's raw-data prefix, pipeline execution
status changes (to know when runs end), and manual invocations. For each
trigger it applies the spec's de-duplication window, cooldown and maximum
concurrent runs with the same policy code as the runtime trigger, counting
running pipeline executions, and starts the model's pipeline with the trigger
reason as a parameter. A malformed event is rejected with a logged reason; the
function never raises on one (EventBridge would retry it).

New data counts by rows where a trigger asks for more than one
(``min_new_rows``): each new object's rows (a Parquet object's read from its
footer, a ``.csv`` object's counted by streaming it) add to the model's pending
rows for that source, and a run is considered once they reach the minimum; a
run that starts takes the rows it was started for.

Configuration comes from the environment: ``MLOPS_TABLE`` (the DynamoDB state
table) and ``MLOPS_TRIGGER_CONFIG`` (JSON, written by Pulumi; its shape is
:class:`mlops_dsl.contracts.aws.TriggerConfig`)::

    {"models": {"churn": {"pipeline": "...", "cooldown_seconds": 21600,
                          "dedup_seconds": 3600, "max_concurrent_runs": 1,
                          "min_new_rows": {"churn_labels": 500}}},
     "alarms": {"<alarm name>": {"model": "churn", "monitor": "churn-feature-drift"}},
     "sources": [{"bucket": "...", "prefix": "raw/churn_labels/", "source": "churn_labels", "models": ["churn"]}]}
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_dsl.aws.parquet_rows import MAX_CSV_BYTES, NotCsvError, NotParquetError, csv_object_rows, object_rows
from mlops_dsl.aws.pipelines import SageMakerPipelineBackend
from mlops_dsl.aws.state import ConflictError, DynamoState
from mlops_dsl.contracts.aws import TRIGGER_CONFIG_ENV, TRIGGER_TABLE_ENV, TriggerConfig, TriggerModel
from mlops_dsl.contracts.retraining import MANUAL, Cause, Decision, Event, Limits, RunRequest, decide

log = logging.getLogger("mlops.trigger")
log.setLevel(logging.INFO)


class RejectedError(Exception):
    """An event this function does not act on; the message says why."""


def _limits(model: TriggerModel) -> Limits:
    return Limits(
        timedelta(seconds=model["cooldown_seconds"]), timedelta(seconds=model["dedup_seconds"]), int(model["max_concurrent_runs"])
    )


def _time(event: dict[str, Any]) -> datetime:
    stamp = event.get("time")
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else datetime.now(UTC)
    except ValueError:
        raise RejectedError(f"'time' is not an ISO timestamp: {stamp!r}") from None


def triggers_of(event: dict[str, Any], config: TriggerConfig) -> list[Event]:
    """The retraining events an EventBridge event (or a manual invocation) stands for."""
    if not isinstance(event, dict):
        raise RejectedError(f"the event must be a JSON object, got {type(event).__name__}")
    at = _time(event)
    source, kind = event.get("source"), event.get("detail-type")
    detail = event.get("detail")
    if source is None and "model" in event:  # manual: {"model": ..., "reason": ...}
        model = event["model"]
        if model not in config["models"]:
            raise RejectedError(f"unknown model {model!r}; known: {', '.join(sorted(config['models']))}")
        return [Event(model, MANUAL, at, str(event.get("reason") or "manual invocation"), occurrence=uuid.uuid4().hex)]
    if not isinstance(detail, dict):
        raise RejectedError(f"event from {source!r} has no 'detail' object")
    if source == "aws.cloudwatch" and kind == "CloudWatch Alarm State Change":
        name = detail.get("alarmName")
        state = (detail.get("state") or {}).get("value")
        if not name or not state:
            raise RejectedError("alarm event lacks detail.alarmName or detail.state.value")
        if state != "ALARM":
            raise RejectedError(f"alarm {name} moved to {state}, not ALARM")
        target = config["alarms"].get(name)
        if target is None:
            raise RejectedError(f"alarm {name} is not a retraining trigger")
        model, monitor = target["model"], target["monitor"]
        return [Event(model, Cause.alert(monitor), at, f"alarm {name} entered ALARM")]
    if source == "aws.s3" and kind == "Object Created":
        bucket = (detail.get("bucket") or {}).get("name")
        key = (detail.get("object") or {}).get("key")
        if not bucket or not key:
            raise RejectedError("S3 event lacks detail.bucket.name or detail.object.key")
        for watched in config["sources"]:
            if watched["bucket"] == bucket and key.startswith(watched["prefix"]):
                name = watched["source"]
                return [Event(model, Cause.new_data(name), at, f"s3://{bucket}/{key}") for model in watched["models"]]
        raise RejectedError(f"s3://{bucket}/{key} is under no watched source prefix")
    raise RejectedError(f"unsupported event: source {source!r}, detail-type {kind!r}")


class Trigger:
    """Decides on events and starts pipeline executions."""

    def __init__(self, config: TriggerConfig, state: DynamoState, sagemaker: Any, s3: Any = None) -> None:
        self.config = config
        self.state = state
        self.s3 = s3
        self.backend = SageMakerPipelineBackend({name: m["pipeline"] for name, m in config["models"].items()}, client=sagemaker)
        self._rows: dict[str, int] = {}

    def new_rows(self, event: Event) -> dict[str, Any] | None:
        """Count a new object's rows towards its trigger's minimum; a decision to wait, or None to decide now."""
        source = event.trigger.name
        minimum = int(self.config["models"][event.model].get("min_new_rows", {}).get(source, 1))
        if minimum <= 1:
            return None
        uri = event.detail
        if uri not in self._rows:  # one object may feed several models: count its rows once
            self._rows[uri] = self._object_rows(uri)
        pending = self.state.add_rows(event.model, source, self._rows[uri])
        if pending >= minimum:
            return None
        return self._record(event, Decision("skip", "waiting", f"{pending} new rows of the {minimum} the trigger needs"), None)

    def _object_rows(self, uri: str) -> int:
        """A new object's rows: a ``.csv`` object's data lines (streamed), any other's from its Parquet footer."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            if not key.endswith(".csv"):
                return object_rows(self.s3, bucket, key)
            rows, whole = csv_object_rows(self.s3, bucket, key)
        except (NotParquetError, NotCsvError) as error:
            raise RejectedError(f"{uri}: {error}") from None
        if not whole:
            log.warning(json.dumps({"object": uri, "rows_at_least": rows, "read_bytes": MAX_CSV_BYTES}))
        return rows

    def handle(self, event: Event) -> dict[str, Any]:
        """Decide on one event; start the run if the decision is to start.

        Concurrent invocations (an alarm storm) race on two conditional writes:
        the trigger's de-duplication window (a loser decides again and finds a
        duplicate) and the model's last start (a loser is held back, since
        another trigger started a run at the same moment).
        """
        limits = _limits(self.config["models"][event.model])
        if event.trigger.kind == "new_data":
            waiting = self.new_rows(event)
            if waiting is not None:
                return waiting
        for _ in range(5):
            history, previous_start, previous_seen = self.state.history(event.model, event.dedup_key, self.backend.active(event.model))
            decision = decide(event, limits, history)
            if decision.counts_as_seen:
                try:
                    self.state.claim_seen(event.dedup_key, event.at, previous_seen)
                except ConflictError:
                    continue
            run_id = None
            if decision.action == "start":
                try:
                    self.state.claim_start(event.model, event.at, previous_start)
                except ConflictError:
                    decision = Decision(
                        "skip", "concurrency", "max concurrent runs reached: another trigger started a run at the same moment"
                    )
                else:
                    run_id = f"{event.model}-{event.at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
                    reference = self.backend.start(RunRequest(run_id, event.model, event.reason))
                    self.state.add_run(run_id, event.model, event.reason, event.at, reference.removeprefix("arn:"))
                    if event.trigger.kind == "new_data":
                        self.state.take_rows(event.model, event.trigger.name)
            return self._record(event, decision, run_id)
        return self._record(event, Decision("skip", "duplicate", "duplicate: other invocations kept taking this trigger's window"), None)

    def _record(self, event: Event, decision: Decision, run_id: str | None) -> dict[str, Any]:
        record = {
            "model": event.model,
            "trigger": str(event.trigger),
            "action": decision.action,
            "kind": decision.kind,
            "reason": decision.reason,
            "run_id": run_id,
        }
        self.state.record(record, event.at)
        log.info(json.dumps(record))
        return record

    def finished(self, event: dict[str, Any]) -> dict[str, Any]:
        """A pipeline execution ended: its run no longer counts against concurrency."""
        detail = event.get("detail") or {}
        arn = detail.get("pipelineExecutionArn")
        status = detail.get("currentPipelineExecutionStatus")
        if not arn or not status:
            raise RejectedError("pipeline status event lacks detail.pipelineExecutionArn or detail.currentPipelineExecutionStatus")
        if status in ("Executing", "Stopping"):
            return {"status": "ignored", "reason": f"execution still {status.lower()}"}
        run_id = self.state.finish_run(arn, "succeeded" if status == "Succeeded" else "failed", _time(event))
        return {"status": "recorded", "run_id": run_id, "execution_status": status}


def handler(event: Any, context: Any = None, *, trigger: Trigger | None = None) -> dict[str, Any]:
    """The Lambda entry point."""
    import boto3

    if trigger is None:
        config: TriggerConfig = json.loads(os.environ[TRIGGER_CONFIG_ENV])
        table = boto3.resource("dynamodb").Table(os.environ[TRIGGER_TABLE_ENV])
        trigger = Trigger(config, DynamoState(table), boto3.client("sagemaker"), boto3.client("s3"))
    try:
        if isinstance(event, dict) and event.get("detail-type") == "SageMaker Model Building Pipeline Execution Status Change":
            return trigger.finished(event)
        decisions = [trigger.handle(one) for one in triggers_of(event, trigger.config)]
        return {"status": "decided", "decisions": decisions}
    except RejectedError as error:
        log.warning(json.dumps({"rejected": str(error)}))
        return {"status": "rejected", "reason": str(error)}
