"""The drift monitor: live distributions from Prometheus against the training baseline.

For each drift monitor of the spec, it reads the live bin counts of the
production version's feature (or prediction) histograms over the monitor's
window, ``sum by (le) (increase(mlops_feature_value_bucket{...}[window]))``,
compares them with the baseline stored with that version (PSI or KS, as
declared), and exports the score as ``mlops_drift_score``, which the alert
rules fire on.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_api_client import PrometheusConnect
from prometheus_client import CollectorRegistry, Gauge

from mlops_dsl.runtime.baseline import Baseline, Distribution, drift_score
from mlops_dsl.runtime.registry import PRODUCTION, ModelRegistry
from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.feature_store import column_of
from mlops_dsl.spec.monitoring import DataDrift, PredictionDrift
from mlops_dsl.spec.platform import Platform

log = logging.getLogger("mlops.drift")


@dataclass(frozen=True)
class Reading:
    """One drift score: which monitor, which feature (or the prediction), how much data."""

    model: str
    version: str
    monitor: str
    feature: str
    method: str
    score: float
    samples: int
    threshold: float


def live_counts(prometheus: PrometheusConnect, metric: str, selector: dict[str, str], window: str, bins: int) -> np.ndarray | None:
    """Per-bin counts of a histogram over a window, or None if Prometheus has no matching series."""
    labels = ",".join(f'{key}="{value}"' for key, value in selector.items())
    result = prometheus.custom_query(f"sum by (le) (increase({metric}_bucket{{{labels}}}[{window}]))")
    if not result:
        return None
    cumulative = sorted((float(item["metric"]["le"]), float(item["value"][1])) for item in result)
    if len(cumulative) != bins:
        return None  # buckets from another baseline; wait for the right series
    totals = np.array([value for _, value in cumulative])
    counts = np.diff(np.concatenate([[0.0], totals]))
    return np.clip(counts, 0, None)


class DriftMonitor:
    """Computes and exports the drift scores of every drift monitor in the spec."""

    def __init__(
        self, platform: Platform, registry: ModelRegistry, prometheus: PrometheusConnect, metrics: CollectorRegistry, min_samples: int = 50
    ) -> None:
        self.platform = platform
        self.registry = registry
        self.prometheus = prometheus
        self.min_samples = min_samples
        self._baselines: dict[tuple[str, str], Baseline] = {}
        self.score = Gauge(
            "mlops_drift_score",
            "Drift of live data from the training baseline (PSI or KS).",
            ["model", "version", "monitor", "feature", "method"],
            registry=metrics,
        )
        self.samples = Gauge(
            "mlops_drift_samples",
            "Live observations behind each drift score.",
            ["model", "version", "monitor", "feature"],
            registry=metrics,
        )
        self.evaluated = Gauge("mlops_drift_last_evaluation_timestamp_seconds", "When drift was last computed.", registry=metrics)
        self.readings: list[Reading] = []
        self._stop = threading.Event()

    def _baseline(self, model: str, version: str) -> Baseline:
        key = (model, version)
        if key not in self._baselines:
            self._baselines[key] = self.registry.baseline(model, version)
        return self._baselines[key]

    def evaluate(self) -> list[Reading]:
        """One round: every drift monitor of every model with a version in production."""
        readings = []
        for model in self.platform.models:
            monitors = [m for m in model.monitors if isinstance(m, (DataDrift, PredictionDrift))]
            if not monitors:
                continue
            version = self.registry.alias_version(model.name, PRODUCTION)
            if version is None:
                continue
            baseline = self._baseline(model.name, version)
            for monitor in monitors:
                targets: list[tuple[str, str, dict[str, str], Distribution]]
                if isinstance(monitor, DataDrift):
                    targets = [
                        (
                            "mlops_feature_value",
                            column_of(f),
                            {"model": model.name, "version": version, "feature": column_of(f)},
                            baseline.features[column_of(f)],
                        )
                        for f in monitor.features
                        if column_of(f) in baseline.features
                    ]
                else:
                    targets = [("mlops_prediction", "prediction", {"model": model.name, "version": version}, baseline.prediction)]
                for metric, feature, selector, expected in targets:
                    readings.append(self._score(model.name, version, monitor, metric, feature, selector, expected))
        self.readings = readings
        self.evaluated.set_to_current_time()
        return readings

    def _score(
        self, model: str, version: str, monitor: Any, metric: str, feature: str, selector: dict[str, str], expected: Distribution
    ) -> Reading:
        counts = live_counts(self.prometheus, metric, selector, format_duration(monitor.window), len(expected.edges) + 1)
        samples = int(counts.sum()) if counts is not None else 0
        score = (
            drift_score(monitor.method, expected.proportions, counts) if counts is not None and samples >= self.min_samples else math.nan
        )
        self.score.labels(model, version, monitor.name, feature, monitor.method).set(score)
        self.samples.labels(model, version, monitor.name, feature).set(samples)
        return Reading(model, version, monitor.name, feature, monitor.method, score, samples, monitor.threshold)

    def run(self, interval: float) -> None:
        """Evaluate every ``interval`` seconds until stopped."""
        while not self._stop.is_set():
            try:
                for reading in self.evaluate():
                    if not math.isnan(reading.score):
                        log.debug(
                            "%s/%s %s: %.3f over %d samples",
                            reading.model,
                            reading.monitor,
                            reading.feature,
                            reading.score,
                            reading.samples,
                        )
            except Exception:
                log.exception("drift evaluation failed; trying again next round")
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
