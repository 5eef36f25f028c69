"""The canary controller: promote after a quiet bake time, roll back when a named alert fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.runtime.monitors.canary import CanaryController
from mlops_dsl.runtime.registry import CANARY, PRODUCTION, ModelRegistry
from mlops_dsl.runtime.state import StatePaths
from tests.helpers.churn import SPEC, copy_state, register_canary

CANARY_SPEC = {"percent": 10, "bake_time": "10m", "rollback_on": ["churn-error-rate", "churn-latency-p99"]}


class Alerts:
    """Which alerts are firing, as a test sets them (Prometheus' ALERTS series in production)."""

    def __init__(self) -> None:
        self.now_firing: list[str] = []
        self.asked: list[tuple[str, list[str]]] = []

    def firing(self, model: str, alerts: list[str]) -> list[str]:
        self.asked.append((model, alerts))
        return [a for a in alerts if a in self.now_firing]


@pytest.fixture
def setup(trained_state: Path, tmp_path: Path) -> tuple[CanaryController, ModelRegistry, Alerts, list[datetime]]:
    registry = ModelRegistry(StatePaths(copy_state(trained_state, tmp_path / "state")).registry_uri())
    register_canary(registry)
    platform = load_platform(SPEC, environment="local", stack=StackOverrides({"models.churn.serving.canary": CANARY_SPEC}, "test"))[
        "local"
    ].platform
    alerts = Alerts()
    clock = [datetime.now(UTC)]
    return CanaryController(platform, registry, alerts, clock=lambda: clock[0]), registry, alerts, clock


def test_a_canary_bakes_then_is_promoted(setup: tuple[CanaryController, ModelRegistry, Alerts, list[datetime]]) -> None:
    controller, registry, alerts, clock = setup
    [verdict] = controller.evaluate()
    assert verdict.action == "baking"
    assert alerts.asked == [("churn", ["churn-error-rate", "churn-latency-p99"])]  # exactly the declared alerts
    clock[0] += timedelta(minutes=11)
    [verdict] = controller.evaluate()
    assert (verdict.action, verdict.version) == ("promoted", "2")
    assert registry.alias_version("churn", PRODUCTION) == "2" and registry.alias_version("churn", CANARY) is None
    assert controller.evaluate() == []  # nothing left to watch


def test_a_canary_is_rolled_back_when_a_declared_alert_fires(setup: tuple[CanaryController, ModelRegistry, Alerts, list[datetime]]) -> None:
    controller, registry, alerts, _clock = setup
    alerts.now_firing = ["churn-latency-p99", "churn-feature-drift"]
    [verdict] = controller.evaluate()
    assert verdict.action == "rolled_back" and verdict.reason.endswith("churn-latency-p99")
    assert registry.alias_version("churn", PRODUCTION) == "1" and registry.alias_version("churn", CANARY) is None
    assert "churn-latency-p99" in registry.client.get_model_version("churn", "2").tags["mlops.rolled_back"]


def test_an_alert_that_is_not_declared_does_not_roll_back(setup: tuple[CanaryController, ModelRegistry, Alerts, list[datetime]]) -> None:
    controller, _registry, alerts, _clock = setup
    alerts.now_firing = ["churn-feature-drift"]
    assert controller.evaluate()[0].action == "baking"
