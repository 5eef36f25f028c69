"""The monitor's app, in process: its routes answer, and its lifespan runs and stops the monitors it needs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry, Gauge
from starlette.testclient import TestClient

from mlops_dsl.runtime.monitors.app import create_monitor_app


@dataclass
class Reading:
    model: str
    score: float


@dataclass
class StandIn:
    """A monitor that records how it was run and stopped, and has readings to show."""

    readings: list[Any] = field(default_factory=list)
    ran: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False
    interval: float | None = None

    def run(self, interval: float) -> None:
        self.interval = interval
        self.ran.set()

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def monitors() -> dict[str, StandIn]:
    return {"drift": StandIn([Reading("churn", 0.31)]), "quality": StandIn([Reading("churn", 0.8)]), "canaries": StandIn()}


def app(churn_local: Any, monitors: dict[str, StandIn], metrics: CollectorRegistry) -> Any:
    return create_monitor_app(
        churn_local.platform,
        cast(Any, monitors["drift"]),
        cast(Any, monitors["quality"]),
        cast(Any, monitors["canaries"]),
        metrics,
        interval=2.5,
    )


def test_the_routes_answer_with_the_monitors_readings(churn_local: Any, monitors: dict[str, StandIn]) -> None:
    metrics = CollectorRegistry()
    Gauge("mlops_drift_score", "drift", ["model"], registry=metrics).labels("churn").set(0.31)
    with TestClient(app(churn_local, monitors, metrics)) as client:
        assert client.get("/healthz").json() == {"ok": True}
        assert client.get("/drift").json() == {"readings": [{"model": "churn", "score": 0.31}]}
        assert client.get("/quality").json() == {"readings": [{"model": "churn", "score": 0.8}]}
        assert 'mlops_drift_score{model="churn"} 0.31' in client.get("/metrics").text
        assert client.get("/nothing").status_code == 404


def test_the_lifespan_runs_the_monitors_the_spec_needs_and_stops_them(churn_local: Any, monitors: dict[str, StandIn]) -> None:
    has_canary = any(m.serving.canary for m in churn_local.platform.models)
    with TestClient(app(churn_local, monitors, CollectorRegistry())):
        assert monitors["drift"].ran.wait(5) and monitors["quality"].ran.wait(5)  # churn declares a quality monitor
        assert monitors["drift"].interval == 2.5
        assert monitors["canaries"].ran.wait(0.2) is has_canary
    assert all(m.stopped for m in monitors.values())
