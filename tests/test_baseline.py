"""Baselines and drift statistics."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_dsl.runtime.baseline import distribution, drift_score, ks, psi


def test_a_baseline_has_equally_populated_bins() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    dist = distribution(values, bins=10)
    assert len(dist.edges) == 9
    assert dist.count == 10_000
    assert np.allclose(dist.proportions, 0.1, atol=0.01)
    assert sum(dist.proportions) == pytest.approx(1.0)


def test_bins_follow_prometheus_le_semantics() -> None:
    dist = distribution([1, 2, 3, 4], bins=4)
    # a value equal to an edge belongs to that edge's bucket (le = less or equal)
    assert list(dist.bin_counts(np.array(dist.edges))) == [1] * len(dist.edges) + [0]


def test_a_discrete_feature_gets_one_bin_per_value() -> None:
    dist = distribution([0] * 50 + [1] * 30 + [2] * 20, bins=10)
    assert dist.edges == [0.0, 1.0]
    assert dist.proportions == pytest.approx([0.5, 0.3, 0.2])


def test_identical_distributions_do_not_drift() -> None:
    rng = np.random.default_rng(1)
    dist = distribution(rng.normal(size=5000))
    live = dist.bin_counts(rng.normal(size=5000))
    assert psi(dist.proportions, live) < 0.02
    assert ks(dist.proportions, live) < 0.03


def test_a_shifted_distribution_drifts_and_more_shift_drifts_more() -> None:
    rng = np.random.default_rng(2)
    dist = distribution(rng.normal(size=5000))
    small = dist.bin_counts(rng.normal(0.3, 1, size=5000))
    large = dist.bin_counts(rng.normal(1.5, 1, size=5000))
    assert 0.05 < psi(dist.proportions, small) < psi(dist.proportions, large)
    assert psi(dist.proportions, large) > 0.5
    assert 0.05 < ks(dist.proportions, small) < ks(dist.proportions, large) <= 1.0


def test_empty_bins_keep_psi_finite() -> None:
    assert np.isfinite(psi([0.5, 0.5, 0.0], [0, 10, 10]))


def test_no_live_data_is_an_error_not_a_score() -> None:
    with pytest.raises(ValueError, match="no observations"):
        drift_score("psi", [0.5, 0.5], [0, 0])
