"""The model server's fast path for histogram gradient boosting: the same figures as scikit-learn, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from mlops_dsl.runtime.registry import LoadedModel
from mlops_dsl.runtime.server.app import predict
from mlops_dsl.runtime.server.trees import SMALL_BATCH, CompiledTrees, compile_trees, probe_rows


def data(rows: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values in training teach splits where NaN goes
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) ** 2 > 0.5).astype(int) + (np.nan_to_num(x[:, 2]) > 1).astype(int)
    return x, y


def new_rows(rows: int = 300) -> np.ndarray:
    x, _ = data(max(rows, 2), seed=1)
    x[0] = np.nan  # a row missing everything
    x[1] = [np.inf, -np.inf, 0.0, 1e300, -1e300]
    return x[:rows]


def test_a_binary_classifier_gets_the_same_probabilities() -> None:
    x, y = data()
    estimator = HistGradientBoostingClassifier(max_iter=30, max_depth=4, random_state=0).fit(x, y > 0)
    trees = compile_trees(estimator)
    assert isinstance(trees, CompiledTrees)
    assert np.array_equal(trees.raw(new_rows()), estimator._raw_predict(new_rows()))
    assert np.array_equal(trees.predict_proba(new_rows()), estimator.predict_proba(new_rows()))
    assert np.array_equal(trees.raw(new_rows()[:1]), estimator._raw_predict(new_rows()[:1]))


def test_a_multiclass_classifier_and_a_regressor_get_the_same_figures() -> None:
    x, y = data()
    classifier = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y)
    assert classifier.n_trees_per_iteration_ == 3
    trees = compile_trees(classifier)
    assert trees is not None and np.array_equal(trees.predict_proba(new_rows()), classifier.predict_proba(new_rows()))
    regressor = HistGradientBoostingRegressor(max_iter=25, max_leaf_nodes=7).fit(x, y * 1.5)
    trees = compile_trees(regressor)
    assert trees is not None and np.array_equal(trees.predict(new_rows()), regressor.predict(new_rows()))


def test_the_probe_rows_reach_both_sides_of_every_split() -> None:
    x, y = data()
    trees = compile_trees(HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(x, y > 0))
    assert trees is not None
    probe = probe_rows(trees)
    assert np.isnan(probe).any(axis=0).all()
    splits = trees.left != np.arange(trees.left.size)
    assert all(
        (probe[:, feature] == threshold).any() and (probe[:, feature] > threshold).any()
        for feature, threshold in zip(trees.feature[splits], trees.threshold[splits], strict=True)
    )


def test_what_the_fast_path_does_not_cover_keeps_scikit_learns_predict() -> None:
    x, y = data()
    assert compile_trees(LogisticRegression().fit(np.nan_to_num(x), y > 0)) is None
    x[:, 4] = np.random.default_rng(2).integers(0, 4, size=len(x))
    categorical = HistGradientBoostingClassifier(max_iter=10, categorical_features=[4]).fit(x, y > 0)
    assert compile_trees(categorical) is None


def test_the_server_answers_the_same_on_the_fast_path_and_off_it() -> None:
    x, y = data()
    estimator = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y > 0)
    plain = LoadedModel("m", "1", estimator, [f"v:f{i}" for i in range(5)], "classification", baseline=None)  # type: ignore[arg-type]
    fast = LoadedModel("m", "1", estimator, plain.features, "classification", baseline=None, extra={"trees": compile_trees(estimator)})  # type: ignore[arg-type]
    for rows in (new_rows(1), new_rows(SMALL_BATCH), new_rows(SMALL_BATCH + 1)):
        for (name, datatype, expected), (_, _, got) in zip(predict(plain, rows), predict(fast, rows), strict=True):
            assert np.array_equal(expected, got), (name, datatype, len(rows))


@pytest.mark.parametrize("rows", [1, 7])
def test_a_row_missing_every_value_follows_the_missing_branches(rows: int) -> None:
    x, y = data()
    estimator = HistGradientBoostingRegressor(max_iter=15).fit(x, y)
    trees = compile_trees(estimator)
    empty = np.full((rows, 5), np.nan)
    assert trees is not None and np.array_equal(trees.predict(empty), estimator.predict(empty))
