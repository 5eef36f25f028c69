"""The model server's Prometheus metrics.

Besides request latency and counters, the server exports the distribution of
every input feature and of its predictions as histograms whose buckets are the
bin edges of the serving version's training baseline. The drift monitor reads
them back from Prometheus and compares bin for bin with that baseline.
Buckets differ per feature and per version, which Prometheus' text format
allows but prometheus_client's Histogram does not, hence
:class:`Distributions`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Series:
    def __init__(self, edges: Sequence[float]) -> None:
        self.edges = np.asarray(edges, dtype=float)
        self.counts = np.zeros(len(edges) + 1, dtype=np.int64)
        self.total = 0.0


class Distributions(Collector):
    """Histograms with their own buckets per label set, updated a whole batch at a time."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labelnames)
        self._series: dict[tuple[str, ...], _Series] = {}
        self._lock = threading.Lock()

    def define(self, labels: tuple[str, ...], edges: Sequence[float]) -> None:
        """Declare a series and its bucket upper bounds (keeps counts if already declared)."""
        with self._lock:
            if labels not in self._series:
                self._series[labels] = _Series(edges)

    def observe(self, labels: tuple[str, ...], values: np.ndarray) -> None:
        """Count a batch of values into a declared series (NaN is skipped)."""
        series = self._series.get(labels)
        if series is None:
            return
        finite = values[~np.isnan(values)]
        index = np.searchsorted(series.edges, finite, side="left")
        counts = np.bincount(index, minlength=series.counts.size)
        with self._lock:
            series.counts += counts
            series.total += float(finite.sum())

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            snapshot = [(labels, s.edges.copy(), s.counts.copy(), s.total) for labels, s in self._series.items()]
        for labels, edges, counts, total in snapshot:
            cumulative = np.cumsum(counts)
            buckets = [(repr(float(edge)), float(count)) for edge, count in zip(edges, cumulative[:-1], strict=True)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric(list(labels), buckets, total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)


class ServerMetrics:
    """Every metric the model server exports, on an injected registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.latency = Histogram(
            "mlops_request_duration_seconds",
            "Inference request latency, from receiving the body to sending the response.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter("mlops_requests", "Inference requests received.", ["model", "version"], registry=registry)
        self.errors = Counter(
            "mlops_request_errors", "Inference requests that failed, by HTTP status.", ["model", "version", "code"], registry=registry
        )
        self.rows = Counter("mlops_predicted_rows", "Rows predicted.", ["model", "version"], registry=registry)
        self.serving = Gauge(
            "mlops_serving_version",
            "1 for each version being served, by role (stable or canary).",
            ["model", "version", "role"],
            registry=registry,
        )
        self.features = Distributions(
            "mlops_feature_value", "Live input feature values, bucketed by the training baseline.", ["model", "version", "feature"]
        )
        self.predictions = Distributions("mlops_prediction", "Live predictions, bucketed by the training baseline.", ["model", "version"])
        registry.register(self.features)
        registry.register(self.predictions)
