"""The canary controller: promote a canary after its bake time, or roll it back when its alerts fire.

A new version that passes the gate of a model with a canary becomes the
``canary`` alias; the serving side gives it the declared share of traffic.
This controller watches it: if any alert named in ``rollback_on`` fires for
the model during the bake time, the canary is rolled back (the alias is
cleared, and the version is tagged as rolled back); once the bake time passes
quietly, the canary becomes ``production``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from mlops_dsl.runtime.registry import CANARY, PRODUCTION, ModelRegistry
from mlops_dsl.spec.platform import Platform

log = logging.getLogger("mlops.canary")


class AlertSource(Protocol):
    """Tells which of some alerts are firing for a model."""

    def firing(self, model: str, alerts: list[str]) -> list[str]: ...


class PrometheusAlerts:
    """Firing alerts as Prometheus reports them (its ``ALERTS`` series)."""

    def __init__(self, prometheus: object) -> None:
        self.prometheus = prometheus

    def firing(self, model: str, alerts: list[str]) -> list[str]:
        names = "|".join(alerts)
        query = f'ALERTS{{alertstate="firing",model="{model}",alertname=~"{names}"}}'
        result = self.prometheus.custom_query(query)  # type: ignore[attr-defined]
        return sorted({item["metric"]["alertname"] for item in result})


@dataclass(frozen=True)
class Verdict:
    """What the controller did with a model's canary."""

    model: str
    version: str
    action: Literal["promoted", "rolled_back", "baking"]
    reason: str


class CanaryController:
    """Promotes or rolls back canaries, one decision per model per round."""

    def __init__(
        self, platform: Platform, registry: ModelRegistry, alerts: AlertSource, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.platform = platform
        self.registry = registry
        self.alerts = alerts
        self.clock = clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()

    def evaluate(self) -> list[Verdict]:
        """One round over every model that declares a canary."""
        verdicts = []
        for model in self.platform.models:
            canary = model.serving.canary
            if canary is None:
                continue
            version = self.registry.version_for(model.name, CANARY)
            if version is None:
                continue
            since = self.registry.client.get_model_version(model.name, version.version).tags.get("mlops.canary_since")
            started = datetime.fromisoformat(since) if since else version.created_at
            firing = self.alerts.firing(model.name, list(canary.rollback_on))
            now = self.clock()
            if firing:
                self.registry.clear(model.name, CANARY)
                self.registry.client.set_model_version_tag(
                    model.name, version.version, "mlops.rolled_back", f"{now.isoformat()} on {', '.join(firing)}"
                )
                verdicts.append(
                    Verdict(model.name, version.version, "rolled_back", f"alert(s) firing during the bake time: {', '.join(firing)}")
                )
            elif now - started >= canary.bake_time:
                self.registry.promote(model.name, version.version, PRODUCTION)
                self.registry.clear(model.name, CANARY)
                verdicts.append(Verdict(model.name, version.version, "promoted", f"baked {now - started} with no rollback alert"))
            else:
                verdicts.append(Verdict(model.name, version.version, "baking", f"{canary.bake_time - (now - started)} left"))
        for verdict in verdicts:
            if verdict.action != "baking":
                log.info("%s v%s %s: %s", verdict.model, verdict.version, verdict.action.replace("_", " "), verdict.reason)
        return verdicts

    def run(self, interval: float) -> None:
        """Evaluate every ``interval`` seconds until stopped."""
        while not self._stop.is_set():
            try:
                self.evaluate()
            except Exception:
                log.exception("canary evaluation failed; trying again next round")
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
