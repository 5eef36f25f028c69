"""The trainer: lineage, the gate, approval modes, data validation, and atomic registration."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.runtime.features import local_store
from mlops_dsl.runtime.registry import CANARY, PRODUCTION, ModelRegistry
from mlops_dsl.runtime.state import StatePaths
from mlops_dsl.runtime.trainer import CRASH_ENV, TrainResult, train
from mlops_dsl.spec.problems import SpecError
from tests.helpers.churn import SPEC, copy_state, data_module
from tests.helpers.processes import mlops


def local_spec(overrides: dict[str, Any] | None = None) -> Any:
    """The churn example's local environment, with extra overrides on top (as a stack's would be)."""
    return load_platform(SPEC, environment="local", stack=StackOverrides(overrides or {}, "test"))["local"]


def run(state: Path, overrides: dict[str, Any] | None = None, reason: str = "test", *, spec: Any = None) -> TrainResult:
    spec = spec if spec is not None else local_spec(overrides)
    paths = StatePaths(state)
    store = local_store(spec.platform.feature_store, paths.feature_repo, paths.data_root)
    return train(
        spec,
        "churn",
        registry=ModelRegistry(paths.registry_uri()),
        store=store,
        data_root=paths.data_root,
        trigger_reason=reason,
        run_id="t",
    )


@pytest.fixture
def state(trained_state: Path, tmp_path: Path) -> Path:
    return copy_state(trained_state, tmp_path / "state")


def test_the_first_version_is_promoted_with_its_whole_lineage(trained_state: Path) -> None:
    registry = ModelRegistry(StatePaths(trained_state).registry_uri())
    [version] = registry.versions("churn")
    assert version.status == "production" and version.aliases == [PRODUCTION]
    assert version.metrics["roc_auc"] > 0.75
    lineage = version.lineage
    assert lineage["data_snapshot"].startswith("sha256:") and len(lineage["data_snapshot"]) == 71
    assert lineage["code_version"]
    assert lineage["trigger_reason"] == "initial training"
    assert lineage["parameters"]["estimator"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert lineage["parameters"]["max_depth"] == 3
    assert lineage["training_rows"] == 7200
    loaded = registry.load("churn", version.version)
    assert loaded.inputs == data_module().FEATURES
    # The model's files live in the state directory, not wherever the trainer was started.
    experiment = registry.client.get_experiment_by_name("churn")
    assert experiment is not None
    assert experiment.artifact_location == (trained_state / "registry" / "artifacts" / "churn").resolve().as_uri()
    assert set(loaded.baseline.features) == set(loaded.inputs)
    assert loaded.baseline.prediction.count == 7200
    assert loaded.estimator.predict_proba([[10, 20, 12.0, 1, 70.0, 12, 0]]).shape == (1, 2)


def test_a_candidate_that_fails_the_threshold_is_recorded_and_never_promoted(state: Path) -> None:
    result = run(state, {"models.churn.training.gate.threshold": 0.99})
    assert (result.status, result.outcome) == ("succeeded", "rejected")
    assert "roc_auc" in result.reason and "below the threshold 0.99" in result.reason
    registry = ModelRegistry(StatePaths(state).registry_uri())
    assert [(v.version, v.status) for v in registry.versions("churn")] == [("1", "production"), ("2", "rejected")]
    assert registry.alias_version("churn") == "1"


def test_a_candidate_must_beat_production_by_the_margin(state: Path) -> None:
    # Same data, same seed: the candidate ties with production, which is no improvement of 0.01.
    result = run(state, {"models.churn.training.gate.min_improvement": 0.01})
    assert result.outcome == "rejected"
    assert "does not beat production v1" in result.reason
    assert ModelRegistry(StatePaths(state).registry_uri()).alias_version("churn") == "1"


def test_a_better_candidate_replaces_production(state: Path) -> None:
    data_module().generate(
        StatePaths(state).data_root, customers=3000, snapshots=3, seed=7, shift=0.8, tag="shifted", first_customer=10_001
    )
    result = run(state, reason="alert:churn-feature-drift")
    assert result.outcome == "promoted", result.reason
    registry = ModelRegistry(StatePaths(state).registry_uri())
    statuses = {v.version: v.status for v in registry.versions("churn")}
    assert statuses == {"1": "archived", "2": "production"}
    assert registry.version_for("churn", PRODUCTION).lineage["trigger_reason"] == "alert:churn-feature-drift"  # type: ignore[union-attr]


def test_manual_approval_leaves_a_passing_candidate_pending(state: Path) -> None:
    result = run(state, {"models.churn.registry.approval": "manual"})
    assert result.outcome == "pending_approval"
    registry = ModelRegistry(StatePaths(state).registry_uri())
    assert registry.versions("churn")[-1].status == "pending_approval"
    assert registry.alias_version("churn") == "1"


def test_with_a_canary_a_new_version_starts_as_the_canary(state: Path) -> None:
    canary = {"percent": 20, "bake_time": "1m", "rollback_on": ["churn-error-rate"]}
    result = run(state, {"models.churn.serving.canary": canary})
    assert result.outcome == "canary"
    registry = ModelRegistry(StatePaths(state).registry_uri())
    assert (registry.alias_version("churn", PRODUCTION), registry.alias_version("churn", CANARY)) == ("1", "2")


def test_data_that_fails_validation_registers_nothing(state: Path) -> None:
    result = run(state, {"models.churn.training.data_validation.ranges.tenure_months": {"min": 0, "max": 10}})
    assert (result.status, result.outcome) == ("failed", "invalid_data")
    assert "feature tenure_months has" in result.reason and "above 10" in result.reason
    assert len(ModelRegistry(StatePaths(state).registry_uri()).versions("churn")) == 1


def test_too_few_rows_fail_validation(state: Path) -> None:
    result = run(state, {"models.churn.training.data_validation.min_rows": 1_000_000})
    assert result.outcome == "invalid_data"
    assert "fewer than min_rows 1000000" in result.reason


def with_hyperparameters(spec: Any, **values: Any) -> Any:
    """The resolved spec with churn's hyperparameters changed after validation (as an upgraded estimator would see them)."""
    churn = next(m for m in spec.platform.models if m.name == "churn")
    training = churn.training.model_copy(update={"hyperparameters": {**churn.training.hyperparameters, **values}})
    models = [m.model_copy(update={"training": training}) if m is churn else m for m in spec.platform.models]
    return dataclasses.replace(spec, platform=spec.platform.model_copy(update={"models": models}))


def test_unknown_hyperparameters_are_refused_by_the_loader() -> None:
    with pytest.raises(SpecError) as refused:
        local_spec({"models.churn.training.hyperparameters.depth": 4})
    assert [p.path for p in refused.value.problems] == ["models.churn.training.hyperparameters.depth"]


def test_unknown_hyperparameters_that_get_past_the_loader_still_fail_the_run_with_a_reason(state: Path) -> None:
    result = run(state, spec=with_hyperparameters(local_spec(), depth=4))
    assert (result.status, result.outcome) == ("failed", "error")
    assert "do not fit HistGradientBoostingClassifier" in result.reason


STEPS = [
    "start",
    "extracted",
    "validated",
    "trained",
    "evaluated",
    "run_started",
    "metrics_logged",
    "model_logged",
    "baseline_logged",
    "version_created",
    "promoted",
]


@pytest.mark.slow
def test_killing_the_trainer_at_any_step_leaves_the_registry_whole(state: Path) -> None:
    registry = ModelRegistry(StatePaths(state).registry_uri())
    expected_versions = 1
    for step in STEPS:
        killed = subprocess.run(
            mlops(
                "train",
                "--spec",
                str(SPEC),
                "--env",
                "local",
                "--state-dir",
                str(state),
                "--model",
                "churn",
                "--reason",
                f"crash at {step}",
            ),
            env={**os.environ, CRASH_ENV: step},
            capture_output=True,
            timeout=300,
        )
        assert killed.returncode == -signal.SIGKILL, f"{step}: {killed.stderr.decode()[-2000:]}"
        if STEPS.index(step) >= STEPS.index("version_created"):
            expected_versions += 1
        versions = registry.versions("churn")  # readable after every kill
        assert len(versions) == expected_versions, step
        for version in versions:  # and every version is whole: lineage, metrics, model, baseline
            assert version.lineage["data_snapshot"] and version.lineage["code_version"] and version.metrics, (step, version)
            loaded = registry.load("churn", version.version)
            assert loaded.baseline.features and loaded.estimator is not None
        production = registry.alias_version("churn")
        assert production is not None and registry.load("churn", production).estimator is not None
