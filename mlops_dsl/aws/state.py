"""The AWS trigger's durable state: a DynamoDB table with conditional writes.

Items, keyed by ``pk``:

- ``seen#<dedup key>``: when the trigger was last accepted (de-duplication);
- ``model#<model>``: when its last run started (cooldown), written only if it
  has not changed since it was read, so two concurrent invocations cannot
  both start a run;
- ``run#<run id>``: one run, ``running`` until its pipeline execution ends;
- ``rows#<model>#<source>``: new rows not trained on yet, added atomically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlops_dsl.contracts.retraining import History


class ConflictError(Exception):
    """Another invocation changed the state first."""


class DynamoState:
    """Reads the history an event needs, and records decisions and runs."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def _get(self, key: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def history(self, model: str, dedup_key: str, external_running: int | None) -> tuple[History, str | None, str | None]:
        """The event's history, and the last start and last acceptance as read (for conditional writes)."""
        seen = self._get(f"seen#{dedup_key}")
        model_item = self._get(f"model#{model}")
        last_started = model_item.get("last_started") if model_item else None
        running = self.running(model)
        if external_running is not None:
            running = max(running, external_running)
        history = History(
            last_seen=datetime.fromisoformat(seen["at"]) if seen else None,
            last_started=datetime.fromisoformat(last_started) if last_started else None,
            running=running,
        )
        return history, last_started, seen["at"] if seen else None

    def running(self, model: str) -> int:
        """Runs of the model this trigger started that have not ended."""
        scan = self.table.scan(
            FilterExpression="#m = :model AND #s = :running",
            ExpressionAttributeNames={"#m": "model", "#s": "status"},
            ExpressionAttributeValues={":model": model, ":running": "running"},
            ConsistentRead=True,
        )
        return len(scan.get("Items", []))

    def claim_start(self, model: str, now: datetime, previous: str | None) -> None:
        """Record a run start for the model, unless another invocation recorded one since we read."""
        self._conditional_put(f"model#{model}", "last_started", now.isoformat(), previous, model)

    def claim_seen(self, dedup_key: str, now: datetime, previous: str | None) -> None:
        """Open a new de-duplication window for this trigger, unless another invocation opened one since we read."""
        self._conditional_put(f"seen#{dedup_key}", "at", now.isoformat(), previous, dedup_key)

    def _conditional_put(self, key: str, field: str, value: str, previous: str | None, what: str) -> None:
        from botocore.exceptions import ClientError

        # The field goes through #f: some names (such as "at") are DynamoDB reserved words.
        condition = "attribute_not_exists(#f)" if previous is None else "#f = :previous"
        values: dict[str, Any] = {":value": value}
        if previous is not None:
            values[":previous"] = previous
        try:
            self.table.update_item(
                Key={"pk": key},
                UpdateExpression="SET #f = :value",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#f": field},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConflictError(what) from None
            raise

    def add_rows(self, model: str, source: str, rows: int) -> int:
        """Add new rows of a source for a model; returns the rows pending now (an atomic counter)."""
        result = self.table.update_item(
            Key={"pk": f"rows#{model}#{source}"},
            UpdateExpression="ADD #r :rows",
            ExpressionAttributeNames={"#r": "rows"},
            ExpressionAttributeValues={":rows": rows},
            ReturnValues="UPDATED_NEW",
        )
        return int(result["Attributes"]["rows"])

    def take_rows(self, model: str, source: str) -> None:
        """A run started for the pending rows: subtract them (rows that arrive meanwhile stay pending)."""
        item = self._get(f"rows#{model}#{source}")
        if item:
            self.add_rows(model, source, -int(item["rows"]))

    def add_run(self, run_id: str, model: str, reason: str, now: datetime, execution_arn: str) -> None:
        """A run that has started."""
        self.table.put_item(
            Item={
                "pk": f"run#{run_id}",
                "model": model,
                "reason": reason,
                "status": "running",
                "started_at": now.isoformat(),
                "execution_arn": execution_arn,
            }
        )

    def finish_run(self, execution_arn: str, status: str, now: datetime) -> str | None:
        """Mark the run of a pipeline execution as ended; returns its id, if it was ours."""
        scan = self.table.scan(
            FilterExpression="execution_arn = :arn", ExpressionAttributeValues={":arn": execution_arn}, ConsistentRead=True
        )
        for item in scan.get("Items", []):
            self.table.update_item(
                Key={"pk": item["pk"]},
                UpdateExpression="SET #s = :status, finished_at = :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":status": status, ":now": now.isoformat()},
            )
            return str(item["pk"]).removeprefix("run#")
        return None

    def record(self, decision: dict[str, Any], now: datetime) -> None:
        """Keep a decision (they expire after 90 days)."""
        ttl = int(now.timestamp()) + 90 * 86400
        self.table.put_item(
            Item={
                "pk": f"decision#{now.isoformat()}#{decision['trigger']}",
                "expires": ttl,
                **{k: v for k, v in decision.items() if v is not None},
            }
        )
