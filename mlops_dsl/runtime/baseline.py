"""Training baselines and the drift statistics that compare live traffic with them.

A baseline is a binned distribution per input feature (and of the model's
predictions), computed by the trainer on the training data and stored with
the model version. Its bin edges are also the buckets of the model server's
histograms, so the drift monitor can read live bin counts straight from
Prometheus (``increase(..._bucket[window])``) and compare like with like:

- PSI, the population stability index: ``sum((a - e) * ln(a / e))`` over bins;
- KS, the Kolmogorov-Smirnov statistic on the binned distributions: the
  largest gap between the two cumulative distributions at a bin edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, TypeAlias

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Counts: TypeAlias = Sequence[float] | np.ndarray
DEFAULT_BINS = 10
_EPSILON = 1e-4  # stands in for an empty bin, so PSI stays finite


class Distribution(BaseModel):
    """A binned distribution: bins are ``(-inf, e0], (e0, e1], ..., (e_last, +inf)``.

    The edges are upper bounds, as Prometheus histogram buckets (``le``) are.
    """

    model_config = ConfigDict(frozen=True)

    edges: list[float]
    proportions: list[float]
    count: int = Field(ge=0)

    def bin_counts(self, values: np.ndarray) -> np.ndarray:
        """How many of ``values`` fall in each bin (NaN values are not counted)."""
        finite = values[~np.isnan(values)]
        index = np.searchsorted(np.asarray(self.edges), finite, side="left")
        return np.bincount(index, minlength=len(self.edges) + 1)


class Baseline(BaseModel):
    """The training-time distributions stored with a model version."""

    model_config = ConfigDict(frozen=True)

    features: dict[str, Distribution]
    prediction: Distribution


def distribution(values: Sequence[float] | np.ndarray, bins: int = DEFAULT_BINS) -> Distribution:
    """Bin ``values`` into (up to) ``bins`` equally populated bins."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if data.size == 0:
        return Distribution(edges=[], proportions=[1.0], count=0)
    # Edges are observed values (not interpolations), so a discrete feature gets one bin per value.
    quantiles = np.quantile(data, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf")
    edges = np.unique(quantiles)
    if edges.size and edges[-1] >= data.max():
        edges = edges[:-1]  # the last bin must not be empty by construction
    counts = np.bincount(np.searchsorted(edges, data, side="left"), minlength=edges.size + 1)
    return Distribution(edges=[float(e) for e in edges], proportions=[float(c) for c in counts / data.size], count=int(data.size))


def _proportions(counts: Counts) -> np.ndarray:
    array = np.asarray(counts, dtype=float)
    total = array.sum()
    if total <= 0:
        raise ValueError("no observations to compare")
    return array / total


def psi(expected: Counts, actual_counts: Counts) -> float:
    """Population stability index of live bin counts against expected proportions."""
    e = np.clip(np.asarray(expected, dtype=float), _EPSILON, None)
    a = np.clip(_proportions(actual_counts), _EPSILON, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def ks(expected: Counts, actual_counts: Counts) -> float:
    """Kolmogorov-Smirnov statistic between the binned distributions (0 to 1)."""
    e = np.cumsum(np.asarray(expected, dtype=float))
    a = np.cumsum(_proportions(actual_counts))
    return float(np.max(np.abs(a - e)))


def drift_score(method: Literal["psi", "ks"], expected: Counts, actual_counts: Counts) -> float:
    """The score the spec asks for."""
    score = psi(expected, actual_counts) if method == "psi" else ks(expected, actual_counts)
    return score if math.isfinite(score) else float("inf")
