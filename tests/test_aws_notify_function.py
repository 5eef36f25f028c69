"""The Slack forwarder: SNS notifications of CloudWatch alarms, posted to a webhook served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mlops_dsl.aws.notify_function import DeliveryError, handler, message

# An SNS record as Lambda receives it, carrying a CloudWatch alarm notification (the shape AWS documents).
ALARM = {
    "AlarmName": "churn-prod-churn-churn-feature-drift",
    "AlarmDescription": "data_drift of churn (fires after 15m)",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 1 datapoint [0.31] was greater than the threshold (0.2).",
    "StateChangeTime": "2026-11-24T12:00:00.000+0000",
    "Region": "EU (Ireland)",
    "OldStateValue": "OK",
}


def sns_event(*messages: str, subject: str = "ALARM: churn drift") -> dict[str, Any]:
    return {
        "Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Subject": subject, "Message": body}} for body in messages]
    }


class Webhook:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append({"type": self.headers["Content-Type"], "body": json.loads(body)})
                self.send_response(webhook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    hook = Webhook()
    monkeypatch.setenv("MLOPS_SLACK_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("MLOPS_SLACK_CHANNEL", "#ml-alerts")
    yield hook
    hook.server.shutdown()


def test_an_alarm_becomes_one_slack_message_with_its_state_and_reason(webhook: Webhook) -> None:
    result = handler(sns_event(json.dumps(ALARM), json.dumps({**ALARM, "NewStateValue": "OK"})))
    assert result == {"status": "posted", "messages": 2}
    first, second = webhook.received
    assert first["type"] == "application/json"
    assert first["body"]["channel"] == "#ml-alerts"
    text = first["body"]["text"]
    assert text.startswith(":red_circle: *ALARM*: `churn-prod-churn-churn-feature-drift`")
    assert "data_drift of churn" in text and "[0.31] was greater than the threshold" in text
    assert second["body"]["text"].startswith(":large_green_circle: *OK*")


def test_a_notification_that_is_not_an_alarm_is_still_delivered_as_text(webhook: Webhook) -> None:
    handler(sns_event("deployment of churn v7 finished", subject="note"))
    assert webhook.received[0]["body"]["text"] == "*note*\ndeployment of churn v7 finished"


def test_a_refusing_webhook_raises_so_lambda_retries(webhook: Webhook) -> None:
    webhook.status = 404
    with pytest.raises(DeliveryError, match="HTTP 404"):
        handler(sns_event(json.dumps(ALARM)))


@pytest.mark.parametrize("event", [[], {"Records": "x"}, {"nothing": 1}])
def test_an_event_without_sns_records_is_rejected_without_posting(webhook: Webhook, event: Any) -> None:
    assert handler(event)["status"] == "rejected"
    assert webhook.received == []


def test_records_without_a_message_are_skipped(webhook: Webhook) -> None:
    result = handler({"Records": [{"Sns": {}}, {"Sns": {"Message": json.dumps(ALARM)}}]})
    assert result["messages"] == 1 and len(webhook.received) == 1


def test_a_webhook_url_must_use_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/x")
    with pytest.raises(DeliveryError, match="https"):
        handler(sns_event(json.dumps(ALARM)))


def test_message_without_a_channel_leaves_slack_to_use_the_webhooks_own() -> None:
    assert message("", "plain", "") == {"text": "plain"}
