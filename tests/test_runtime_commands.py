"""mlops features and mlops batch, run as a user runs them, on a trained state directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from mlops_dsl.loading.loader import load_platform
from mlops_dsl.runtime.features import local_store
from mlops_dsl.runtime.registry import ModelRegistry
from mlops_dsl.runtime.state import StatePaths
from tests.helpers.churn import SPEC, copy_state, data_module
from tests.helpers.processes import mlops


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mlops(*args), capture_output=True, text=True, timeout=300)


def test_materialize_fills_the_online_store(trained_state: Path, tmp_path: Path) -> None:
    state = copy_state(trained_state, tmp_path / "state")
    result = run("features", "materialize", "--spec", str(SPEC), "--env", "local", "--state-dir", str(state))
    assert result.returncode == 0, result.stderr[-2000:]
    spec = load_platform(SPEC, environment="local")["local"]
    store = local_store(spec.platform.feature_store, StatePaths(state).feature_repo, StatePaths(state).data_root)
    online = store.get_online_features(
        features=["customer_activity:tenure_months", "billing:monthly_charges"], entity_rows=[{"customer_id": 7}]
    ).to_dict()
    assert online["tenure_months"][0] is not None and online["monthly_charges"][0] is not None


def test_batch_scores_a_data_set_with_the_production_version(trained_state: Path, tmp_path: Path) -> None:
    state = copy_state(trained_state, tmp_path / "state")
    features = data_module().FEATURES
    folder = StatePaths(state).data_root / "batch" / "customers"
    folder.mkdir(parents=True)
    data_module().requests(50, seed=9)[features].assign(customer_id=range(50)).to_parquet(folder / "part-0.parquet")
    result = run(
        "batch",
        "--spec",
        str(SPEC),
        "--env",
        "local",
        "--state-dir",
        str(state),
        "--model",
        "churn",
        "--input",
        "batch/customers",
        "--output",
        "batch/scores",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [written] = list((StatePaths(state).data_root / "batch" / "scores").glob("*.parquet"))
    scores = pd.read_parquet(written)
    assert len(scores) == 50 and set(scores["model_version"]) == {"1"}
    expected = (
        ModelRegistry(StatePaths(state).registry_uri())
        .load("churn", "1")
        .estimator.predict_proba(scores[features].to_numpy(dtype=float))[:, 1]
    )
    assert (abs(scores["probability"] - expected) < 1e-9).all()


def test_batch_without_input_is_a_one_line_error(trained_state: Path) -> None:
    result = run("batch", "--spec", str(SPEC), "--env", "local", "--state-dir", str(trained_state), "--model", "churn")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--input/--output: got None; allowed: paths, or a serving.batch section" in result.stderr


def test_a_service_without_its_secret_refuses_to_start(trained_state: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_WEBHOOK")}
    result = subprocess.run(
        mlops("trigger", "--spec", str(SPEC), "--env", "local", "--state-dir", str(trained_state)),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "MLOPS_WEBHOOK_SECRET: got None" in result.stderr
