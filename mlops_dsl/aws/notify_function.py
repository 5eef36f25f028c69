"""The AWS Slack forwarder: CloudWatch alarm notifications from SNS, posted to a Slack incoming webhook.

Slack's incoming webhooks take a JSON message and cannot confirm an SNS
subscription, so a Slack channel's topic is subscribed to this function
instead. It reads ``MLOPS_SLACK_WEBHOOK_URL`` (a Pulumi secret, encrypted at
rest with the platform's key) and ``MLOPS_SLACK_CHANNEL``, and posts one
message per notification: the alarm's state, name, description and reason.
A notification it cannot read is still posted as text, so nothing is lost; a
webhook that refuses the message raises, so Lambda retries the delivery.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from mlops_dsl.contracts.aws import SLACK_CHANNEL_ENV, SLACK_WEBHOOK_URL_ENV

log = logging.getLogger("mlops.notify")
log.setLevel(logging.INFO)

ICONS = {"ALARM": ":red_circle:", "OK": ":large_green_circle:", "INSUFFICIENT_DATA": ":white_circle:"}


class DeliveryError(RuntimeError):
    """Slack did not accept the message."""


def message(subject: str, body: str, channel: str) -> dict[str, Any]:
    """The Slack message for one SNS notification."""
    try:
        alarm = json.loads(body)
    except ValueError:
        alarm = None
    target = {"channel": channel} if channel else {}  # without one, the webhook posts to its own channel
    if not isinstance(alarm, dict) or "AlarmName" not in alarm:
        return {**target, "text": f"*{subject}*\n{body}" if subject else body}
    state = str(alarm.get("NewStateValue", "?"))
    lines = [f"{ICONS.get(state, ':grey_question:')} *{state}*: `{alarm['AlarmName']}`"]
    if alarm.get("AlarmDescription"):
        lines.append(str(alarm["AlarmDescription"]))
    if alarm.get("NewStateReason"):
        lines.append(f"_{alarm['NewStateReason']}_")
    if alarm.get("StateChangeTime"):
        lines.append(f"since {alarm['StateChangeTime']} ({alarm.get('Region', '')})".replace(" ()", ""))
    return {**target, "text": "\n".join(lines)}


def post(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    """POST a message to the webhook; raise if Slack does not answer 2xx."""
    if not url.startswith(("https://", "http://127.0.0.1:")):  # plain http only to loopback, for tests
        raise DeliveryError("the Slack webhook URL must use https")
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if not 200 <= status < 300:
        raise DeliveryError(f"Slack answered HTTP {status}")


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point: one Slack message per SNS record."""
    url = os.environ[SLACK_WEBHOOK_URL_ENV]
    channel = os.environ.get(SLACK_CHANNEL_ENV, "")
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.warning(json.dumps({"rejected": "the event has no SNS Records list"}))
        return {"status": "rejected", "reason": "the event has no SNS Records list"}
    posted = 0
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
            log.warning(json.dumps({"rejected": "a record without Sns.Message"}))
            continue
        post(url, message(str(sns.get("Subject") or ""), sns["Message"], channel))
        posted += 1
    return {"status": "posted", "messages": posted}
