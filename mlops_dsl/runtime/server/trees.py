"""A fast path for small requests to scikit-learn's histogram gradient boosting models.

scikit-learn's ``HistGradientBoosting*`` predicts one tree at a time: a call
into compiled code per tree, plus input validation per request. For the few
rows of an online request that is almost all overhead (about 0.7 ms for the
churn model's 100 trees and one row, more than the rest of the server takes).
:class:`CompiledTrees` flattens every tree's nodes into arrays once, when a
version is loaded, and walks all trees of a batch together, one level per step.

The arithmetic is the same as scikit-learn's predictor: a value at or below
the threshold goes left, NaN goes where the split sent missing values, and the
leaves are added to the baseline one iteration after the other in the same
order, so the raw predictions are identical to the last bit. :func:`compile_trees`
checks that on probe rows at each split threshold before it is used, and
returns None (scikit-learn's own path) for anything it does not cover:
categorical splits, other estimators, or a mismatch.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger("mlops.server")

SMALL_BATCH = 128
"""Up to this many rows take the fast path; larger batches are faster in scikit-learn's compiled, multithreaded loop."""


class CompiledTrees:
    """Every tree of a fitted HistGradientBoosting model as flat node arrays."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.features = int(estimator.n_features_in_)
        self.per_iteration = int(estimator.n_trees_per_iteration_)
        trees = [predictor.nodes for iteration in estimator._predictors for predictor in iteration]
        self.iterations = len(estimator._predictors)
        offsets = np.cumsum([0] + [len(nodes) for nodes in trees[:-1]])
        nodes = np.concatenate(trees)
        own = np.arange(len(nodes))
        leaf = nodes["is_leaf"].astype(bool)
        shift = np.repeat(offsets, [len(t) for t in trees])
        # A leaf points at itself, so every row can take the same number of steps whatever its depth.
        self.left = np.where(leaf, own, nodes["left"].astype(np.intp) + shift)
        self.right = np.where(leaf, own, nodes["right"].astype(np.intp) + shift)
        self.feature = np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.value = nodes["value"].astype(np.float64)
        self.roots = offsets.astype(np.intp)
        self.depth = int(nodes["depth"].max())
        self.baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(1, 1, self.per_iteration)

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The raw predictions, shape (rows, trees per iteration), as the estimator's ``_raw_predict``."""
        count = rows.shape[0]
        flat = np.ascontiguousarray(rows, dtype=np.float64).ravel()
        starts = (np.arange(count, dtype=np.intp) * self.features)[:, None]
        node = np.broadcast_to(self.roots, (count, self.roots.size))
        for _ in range(self.depth):
            value = flat.take(starts + self.feature.take(node))
            # NaN compares false, so it goes left only where the split sends missing values left.
            left = (value <= self.threshold.take(node)) | (np.isnan(value) & self.missing_left.take(node))
            node = np.where(left, self.left.take(node), self.right.take(node))
        leaves = self.value.take(node).reshape(count, self.iterations, self.per_iteration)
        # Baseline first, then each iteration in turn: cumsum adds strictly left to right, as scikit-learn does.
        terms = np.concatenate([np.broadcast_to(self.baseline, (count, 1, self.per_iteration)), leaves], axis=1)
        return np.cumsum(terms, axis=1)[:, -1, :]

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (classifiers), as the estimator's ``predict_proba``."""
        probabilities: np.ndarray = self.estimator._loss.predict_proba(self.raw(rows))
        return probabilities

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Predicted values (regressors), as the estimator's ``predict``."""
        predicted: np.ndarray = self.estimator._loss.link.inverse(self.raw(rows).ravel())
        return predicted


def probe_rows(trees: CompiledTrees, count: int = 256, seed: int = 0) -> np.ndarray:
    """Rows that exercise both sides of every split: each split's threshold, the floats next to it, and NaN."""
    rng = np.random.default_rng(seed)
    splits = trees.left != np.arange(trees.left.size)
    candidates = []
    for feature in range(trees.features):
        thresholds = trees.threshold[splits & (trees.feature == feature)]
        extremes = [np.nan, 0.0, -np.inf, np.inf]
        candidates.append(np.concatenate([thresholds, np.nextafter(thresholds, -np.inf), np.nextafter(thresholds, np.inf), extremes]))
    size = max(count, *(len(values) for values in candidates))
    # Every candidate at least once per column, in a different order per column so they meet in many combinations.
    return np.column_stack([rng.permutation(np.resize(values, size)) for values in candidates])


def compile_trees(estimator: Any) -> CompiledTrees | None:
    """The fast path for ``estimator``, or None where scikit-learn's own predict must be used."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if not isinstance(estimator, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return None
    if getattr(estimator, "_preprocessor", None) is not None or (estimator.is_categorical_ is not None and estimator.is_categorical_.any()):
        return None  # categorical splits test bitsets, which this path does not evaluate
    try:
        trees = CompiledTrees(estimator)
        probe = probe_rows(trees)
        same = np.array_equal(trees.raw(probe), estimator._raw_predict(probe))
    except (AttributeError, KeyError, ValueError, TypeError) as error:  # a scikit-learn whose internals moved
        log.warning("serving %s without the fast path: %s", type(estimator).__name__, error)
        return None
    if not same:
        log.warning("serving %s without the fast path: its raw predictions differ from scikit-learn's", type(estimator).__name__)
        return None
    return trees
