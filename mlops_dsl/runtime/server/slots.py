"""Which version of each model is served, and the swap to a newly promoted one.

A background thread polls the registry's ``production`` and ``canary``
aliases. A new version is loaded completely before it replaces the old one,
with a single reference assignment, so a request that already started
finishes on the version it started with and no request ever sees a
half-loaded model.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import Literal

from mlops_dsl.runtime.registry import CANARY, PRODUCTION, LoadedModel, ModelRegistry
from mlops_dsl.runtime.server.metrics import ServerMetrics
from mlops_dsl.runtime.server.trees import compile_trees
from mlops_dsl.spec.platform import Platform

log = logging.getLogger("mlops.server")


@dataclass(frozen=True)
class Served:
    """What one model serves right now: the stable version and, maybe, a canary."""

    stable: LoadedModel
    canary: LoadedModel | None = None
    canary_percent: int = 0

    def pick(self, chance: random.Random) -> LoadedModel:
        """The version that answers this request: the canary for its share of traffic."""
        if self.canary is not None and chance.random() * 100 < self.canary_percent:
            return self.canary
        return self.stable


Role = Literal["all", "stable", "canary"]


class ModelSlots:
    """The served versions of some models, kept in step with the registry.

    ``role`` says which versions this server answers with: ``all`` serves the
    stable version and splits the canary's share of traffic itself (one
    process, the local target); ``stable`` serves only the production version
    and ``canary`` only the canary (falling back to production when there is
    none), for a cluster where a router splits traffic between two Deployments.
    """

    def __init__(self, platform: Platform, models: list[str], registry: ModelRegistry, metrics: ServerMetrics, role: Role = "all") -> None:
        self.platform = platform
        self.models = models
        self.role = role
        self.registry = registry
        self.metrics = metrics
        self.keys = {name: platform.join_keys(platform.model(name)) for name in models}
        """Each model's entity join keys, which requests may send beside the features."""
        self._served: dict[str, Served] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def fixed(cls, platform: Platform, loaded: LoadedModel, metrics: ServerMetrics) -> ModelSlots:
        """Slots that serve one loaded version and never change (a SageMaker endpoint's container)."""
        slots = cls(platform, [loaded.model], registry=None, metrics=metrics)  # type: ignore[arg-type]
        slots._prepare(loaded)
        slots._served[loaded.model] = Served(loaded)
        slots._publish(loaded.model, None, slots._served[loaded.model])
        return slots

    def get(self, model: str) -> Served | None:
        """What ``model`` serves now (None until a version is in production)."""
        return self._served.get(model)

    def ready(self) -> bool:
        """Whether every model has a version to serve."""
        return all(model in self._served for model in self.models)

    def _prepare(self, loaded: LoadedModel) -> None:
        """Get a version ready before it answers: its drift histograms, and its fast path if it has one."""
        loaded.extra["trees"] = compile_trees(loaded.estimator)
        for name, dist in loaded.baseline.features.items():
            self.metrics.features.define((loaded.model, loaded.version, name), dist.edges)
        self.metrics.predictions.define((loaded.model, loaded.version), loaded.baseline.prediction.edges)

    def _load(self, model: str, version: str | None, current: LoadedModel | None) -> LoadedModel | None:
        if version is None:
            return None
        if current is not None and current.version == version:
            return current
        loaded = self.registry.load(model, version)
        self._prepare(loaded)
        return loaded

    def refresh(self) -> list[str]:
        """Load whatever the aliases point at now; returns a line per change."""
        if self.registry is None:  # fixed slots: SageMaker replaces the container to change versions
            return []
        changes = []
        for model in self.models:
            canary_spec = self.platform.model(model).serving.canary
            before = self._served.get(model)
            wanted = self.registry.alias_version(model, PRODUCTION)
            if self.role == "canary":
                wanted = self.registry.alias_version(model, CANARY) or wanted
            stable = self._load(model, wanted, before.stable if before else None)
            if stable is None:
                continue
            canary = None
            if canary_spec is not None and self.role == "all":
                canary = self._load(model, self.registry.alias_version(model, CANARY), before.canary if before else None)
                if canary is not None and canary.version == stable.version:
                    canary = None
            after = Served(stable, canary, canary_spec.percent if canary_spec and canary else 0)
            if before is None or (before.stable.version, getattr(before.canary, "version", None)) != (
                stable.version,
                getattr(canary, "version", None),
            ):
                self._served[model] = after  # the swap: one reference assignment
                self._publish(model, before, after)
                canary_text = f", canary v{canary.version} at {after.canary_percent}%" if canary else ""
                changes.append(f"{model}: serving v{stable.version}{canary_text}")
        return changes

    def _publish(self, model: str, before: Served | None, after: Served) -> None:
        if before is not None:
            self.metrics.serving.remove(model, before.stable.version, "canary" if self.role == "canary" else "stable")
            if before.canary is not None:
                self.metrics.serving.remove(model, before.canary.version, "canary")
        self.metrics.serving.labels(model, after.stable.version, "canary" if self.role == "canary" else "stable").set(1)
        if after.canary is not None:
            self.metrics.serving.labels(model, after.canary.version, "canary").set(1)

    def start(self, interval: float) -> None:
        """Poll the registry every ``interval`` seconds in a background thread."""
        if self.registry is None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    for change in self.refresh():
                        log.info(change)
                except Exception:
                    log.exception("refreshing served versions failed; serving what is loaded")

        self._thread = threading.Thread(target=loop, name="mlops-version-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
