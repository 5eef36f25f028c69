"""The SageMaker pipeline's steps, run on SageMaker's local directory layout (/opt/ml), as the containers run them."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.runtime import sagemaker_steps as steps
from tests.helpers.churn import SPEC, data_module
from tests.helpers.processes import Process, free_port, mlops

FEATURES = data_module().FEATURES


def prod(overrides: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return load_platform(SPEC, environment="prod", stack=StackOverrides(overrides or {}, "test"))["prod"]


def offline_store(root: Path) -> None:
    """Label rows and feature group records as SageMaker's offline store keeps them (with its extra columns)."""
    data = data_module()
    raw = root / "raw"
    data.generate(raw, customers=3000, snapshots=3, seed=4, end=datetime(2026, 11, 20, tzinfo=UTC))
    for view in ("customer_activity", "billing"):
        frame = pd.read_parquet(raw / "raw" / view)
        frame = frame.assign(write_time=frame["event_timestamp"], api_invocation_time=frame["event_timestamp"], is_deleted=False)
        # a deleted record must be ignored: give customer 1 absurd values, then delete it
        deleted = frame[frame["customer_id"] == 1].assign(is_deleted=True, event_timestamp=frame["event_timestamp"].max())
        for column in FEATURES:
            if column in deleted:
                deleted[column] = 10**6
        target = root / "input" / "features" / view / "year=2026" / "month=11"
        target.mkdir(parents=True)
        pd.concat([frame, deleted]).to_parquet(target / "records.parquet", index=False)
    (root / "input" / "labels").mkdir(parents=True)
    pd.read_parquet(raw / "raw" / "churn_labels").to_parquet(root / "input" / "labels" / "labels.parquet", index=False)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Prepare, train and evaluate once, handing each step's outputs to the next as SageMaker would."""
    spec = prod()
    processing = tmp_path_factory.mktemp("processing")
    offline_store(processing)
    steps.prepare(spec, "churn", processing)
    training = tmp_path_factory.mktemp("training")
    (training / "input" / "data").mkdir(parents=True)
    os.symlink(processing / "train", training / "input" / "data" / "train")
    model_dir = steps.train(spec, "churn", training)
    evaluation = tmp_path_factory.mktemp("evaluation")
    (evaluation / "input" / "model").mkdir(parents=True)
    with tarfile.open(evaluation / "input" / "model" / "model.tar.gz", "w:gz") as tar:
        for item in model_dir.iterdir():
            tar.add(item, arcname=item.name)
    os.symlink(processing / "test", evaluation / "input" / "test")
    os.symlink(processing / "lineage", evaluation / "input" / "lineage")
    steps.evaluate_step(spec, "churn", evaluation)
    yield tmp_path_factory.getbasetemp()


def step_dir(base: Path, name: str) -> Path:
    return next(p for p in base.iterdir() if p.name.startswith(name))


def test_prepare_joins_point_in_time_validates_and_splits(pipeline: Path) -> None:
    processing = step_dir(pipeline, "processing")
    train = pd.read_parquet(processing / "train" / "train.parquet")
    test = pd.read_parquet(processing / "test" / "test.parquet")
    assert len(train) + len(test) == 9000 and len(test) == 1800
    assert train["event_timestamp"].max() <= test["event_timestamp"].min()  # split by time
    assert set(FEATURES) <= set(train.columns) and train[FEATURES].notna().all().all()
    assert train["tenure_months"].max() <= 120  # the deleted record's values never made it in
    lineage = json.loads((processing / "lineage" / "lineage.json").read_text())
    assert lineage["data_snapshot"].startswith("sha256:") and lineage["rows"] == 9000


def test_train_writes_the_model_its_features_and_its_baseline(pipeline: Path) -> None:
    model = step_dir(pipeline, "training") / "model"
    estimator, features, metadata, baseline = steps.load_model_dir(model)
    assert features == [f"customer_activity:{f}" for f in FEATURES[:4]] + [f"billing:{f}" for f in FEATURES[4:]]
    assert metadata["task"] == "classification" and set(baseline.features) == set(FEATURES)
    assert estimator.predict_proba(np.zeros((1, 7))).shape == (1, 2)


def test_evaluate_reports_metrics_and_the_gate_for_the_pipeline_condition(pipeline: Path) -> None:
    evaluation = step_dir(pipeline, "evaluation")
    report = json.loads((evaluation / "evaluation" / "evaluation.json").read_text())
    assert report["metrics"]["roc_auc"]["value"] > 0.75
    assert report["gate"]["passed"] is True and report["gate"]["beats_production"] is True
    assert report["lineage"]["data_snapshot"].startswith("sha256:")
    baseline = pd.read_csv(evaluation / "baseline" / "baseline.csv")
    assert list(baseline.columns) == [*FEATURES, "prediction"] and len(baseline) == 1800


def test_a_candidate_that_does_not_beat_production_is_flagged(pipeline: Path, tmp_path: Path) -> None:
    evaluation = step_dir(pipeline, "evaluation")
    (tmp_path / "input").mkdir()
    for name in ("model", "test", "lineage"):
        os.symlink(evaluation / "input" / name, tmp_path / "input" / name)
    (tmp_path / "input" / "production").mkdir()
    # production is the same model: no improvement of 0.01
    os.symlink(evaluation / "input" / "model" / "model.tar.gz", tmp_path / "input" / "production" / "model.tar.gz")
    report = steps.evaluate_step(prod({"models.churn.training.gate.min_improvement": 0.01}), "churn", tmp_path)
    assert report["gate"]["passed"] is False and report["gate"]["beats_production"] is False
    assert "does not beat production" in report["gate"]["reason"]


def test_a_step_that_fails_validation_fails_the_job_with_its_reason(pipeline: Path, tmp_path: Path) -> None:
    processing = step_dir(pipeline, "processing")
    os.symlink(processing / "input", tmp_path / "input")
    spec_file = tmp_path / "spec.json"
    from mlops_dsl.loading.loader import resolved_json

    spec_file.write_text(resolved_json(prod({"models.churn.training.data_validation.min_rows": 10**7})))
    result = subprocess.run(
        mlops("sagemaker", "prepare", "--spec", str(spec_file), "--model", "churn", "--root", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "fewer than min_rows 10000000" in (tmp_path / "failure").read_text()


def test_the_endpoint_container_serves_ping_and_invocations(pipeline: Path, tmp_path: Path) -> None:
    from mlops_dsl.loading.loader import resolved_json

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(resolved_json(prod()))
    port = free_port()
    model = step_dir(pipeline, "training") / "model"
    # SageMaker runs the image with the argument "serve"; the image's entry point is `mlops`.
    server = Process(
        mlops("serve", "--spec", str(spec_file)),
        tmp_path / "serve.log",
        env={"MLOPS_MODEL_DIR": str(model), "SAGEMAKER_BIND_TO_PORT": str(port)},
    )
    try:
        server.wait_http(f"http://127.0.0.1:{port}/ping", timeout=60)
        rows = data_module().requests(3, seed=2)[FEATURES].to_numpy().tolist()
        response = httpx.post(
            f"http://127.0.0.1:{port}/invocations", json={"inputs": [{"name": "x", "shape": [3, 7], "datatype": "FP64", "data": rows}]}
        )
        assert response.status_code == 200
        assert [o["name"] for o in response.json()["outputs"]] == ["probability", "label"]
        assert httpx.post(f"http://127.0.0.1:{port}/invocations", content=b"nope").status_code == 400
    finally:
        server.stop()
