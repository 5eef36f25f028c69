"""Model quality from ground truth: captured predictions joined with later labels, scored and exported for the alert rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as sk
import yaml
from prometheus_client import CollectorRegistry

from mlops_dsl.loading.loader import StackOverrides, load_platform, resolved_json
from mlops_dsl.rendering.alerting import rule_groups
from mlops_dsl.runtime.monitors.quality import LABEL, QualityMonitor, captured_predictions, join_labels, read_labels
from mlops_dsl.runtime.server.capture import Capture
from mlops_dsl.runtime.state import StatePaths
from mlops_dsl.spec.platform import Platform
from mlops_dsl.spec.serving import DataCapture
from mlops_dsl.spec.training import CLASSIFICATION_METRICS, REGRESSION_METRICS
from tests.helpers.churn import SPEC, copy_state, data_module
from tests.helpers.processes import Process, free_port, mlops, wait_until

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
QUALITY = "churn-quality"  # the churn example's ModelQuality monitor: roc_auc, window 1d, min_labels 100


def churn(**changes: Any) -> Platform:
    """The churn example's local platform, with stack-style overrides."""
    stack = StackOverrides(changes, "test") if changes else None
    return load_platform(SPEC, environment="local", stack=stack)["local"].platform


def regression(metric: str) -> Platform:
    return churn(
        **{
            "models.churn.task": "regression",
            "models.churn.training.gate.metric": metric,
            f"models.churn.monitors.{QUALITY}.metric": metric,
        }
    )


def write_labels(data_root: Path, part: str, ids: list[int], when: list[datetime] | datetime, values: list[Any]) -> None:
    """One part of the churn_labels source: customer_id, event_timestamp (one per row, or one for all) and churned."""
    stamps = when if isinstance(when, list) else [when] * len(ids)
    folder = data_root / "raw" / "churn_labels"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"customer_id": np.asarray(ids, dtype="int64"), "event_timestamp": stamps, "churned": values})
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).astype("datetime64[ns, UTC]")
    frame.to_parquet(folder / f"part-{part}.parquet", index=False)


class Sandbox:
    """A capture directory and a data root, and a quality monitor reading them into a fresh registry."""

    def __init__(self, root: Path, platform: Platform, served: tuple[str, ...] = ("1",)) -> None:
        self.paths = StatePaths(root)
        self.platform = platform
        self.served = set(served)
        self.registry = CollectorRegistry()
        self.monitor = QualityMonitor(platform, self.paths.capture, self.paths.data_root, self.registry, lambda model: self.served)
        self._parts = 0

    def predict(self, when: datetime, ids: list[Any], version: str = "1", **outputs: list[Any]) -> None:
        """Append one captured request, as the model server writes it."""
        record = {"time": when.isoformat(), "model": "churn", "version": version, "id": None, "keys": {"customer_id": ids}}
        record["outputs"] = outputs
        folder = self.paths.capture / "churn"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{when:%Y-%m-%d}.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def labels(self, ids: list[int], when: list[datetime] | datetime, values: list[Any]) -> None:
        """Deliver ground truth: one new part of the churn_labels source."""
        write_labels(self.paths.data_root, str(self._parts), ids, when, values)
        self._parts += 1

    def quality(self, metric: str = "roc_auc", version: str = "1") -> float | None:
        return self.registry.get_sample_value("mlops_model_quality", {"model": "churn", "metric": metric, "version": version})

    def labelled(self, version: str = "1") -> float | None:
        return self.registry.get_sample_value("mlops_model_quality_labels", {"model": "churn", "version": version})


def scored_customers(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive-class probabilities, the classes they predict, and true outcomes that follow them (imperfectly)."""
    rng = np.random.default_rng(seed)
    probability = rng.random(size)
    return probability, (probability > 0.5).astype(int), (rng.random(size) < probability).astype(int)


# --- the join ------------------------------------------------------------------------------------


def test_each_prediction_meets_the_first_label_at_or_after_it(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())
    hour = timedelta(hours=1)
    box.predict(NOW - 2 * hour, [1, 2, 3, 4, "6"], probability=[0.1] * 5, label=[0] * 5)
    box.predict(NOW - hour / 2, [1], probability=[0.9], label=[1])
    box.labels(
        [1, 1, 1, 2, 3, 5, 6],
        [NOW - 3 * hour, NOW - hour, NOW, NOW - 2 * hour, NOW - 5 * hour, NOW, NOW - hour],
        [1, 0, 1, 1, 1, 1, 0],
    )
    keys = ["customer_id"]
    joined = join_labels(
        captured_predictions(box.paths.capture / "churn", keys, NOW - 24 * hour),
        read_labels(box.platform, box.platform.model("churn"), box.paths.data_root),
        keys,
    )
    found = {(row.customer_id, row.time.to_pydatetime()): int(getattr(row, LABEL)) for row in joined.itertuples()}
    assert found == {
        ("1", NOW - 2 * hour): 0,  # not the label from before the prediction, nor the later one
        ("1", NOW - hour / 2): 1,  # the same customer's later prediction meets the later label
        ("2", NOW - 2 * hour): 1,  # a label at the very time of the prediction counts
        ("6", NOW - 2 * hour): 0,  # a key sent as BYTES meets the integer key of the label source
    }  # customer 3's only label predates the prediction; 4 has none; 5 was never predicted


# --- the metric ----------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", CLASSIFICATION_METRICS)
def test_a_classification_metric_is_sklearns_on_the_joined_rows(metric: str, tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn(**{f"models.churn.monitors.{QUALITY}.metric": metric}))
    probability, predicted, truth = scored_customers(300)
    ids = list(range(1, 301))
    box.predict(NOW - timedelta(hours=2), ids, probability=probability.tolist(), label=predicted.tolist())
    box.labels(ids, NOW - timedelta(hours=3), (1 - truth).tolist())  # earlier outcomes, the opposite: must be ignored
    box.labels(ids, NOW - timedelta(hours=1), truth.tolist())
    expected = {
        "roc_auc": sk.roc_auc_score(truth, probability),
        "log_loss": sk.log_loss(truth, probability),
        "accuracy": sk.accuracy_score(truth, predicted),
        "f1": sk.f1_score(truth, predicted),
        "precision": sk.precision_score(truth, predicted),
        "recall": sk.recall_score(truth, predicted),
    }[metric]

    box.monitor.evaluate(NOW)

    assert box.quality(metric) == pytest.approx(expected, rel=1e-12)
    assert box.labelled() == 300


@pytest.mark.parametrize("metric", REGRESSION_METRICS)
def test_a_regression_metric_is_sklearns_on_the_joined_rows(metric: str, tmp_path: Path) -> None:
    box = Sandbox(tmp_path, regression(metric))
    rng = np.random.default_rng(1)
    truth = rng.normal(50, 10, 200)
    prediction = truth + rng.normal(0, 4, 200)
    ids = list(range(1, 201))
    box.predict(NOW - timedelta(hours=2), ids, prediction=prediction.tolist())
    box.labels(ids, NOW - timedelta(hours=1), truth.tolist())
    expected = {
        "rmse": np.sqrt(sk.mean_squared_error(truth, prediction)),
        "mae": sk.mean_absolute_error(truth, prediction),
        "r2": sk.r2_score(truth, prediction),
    }[metric]

    box.monitor.evaluate(NOW)

    assert box.quality(metric) == pytest.approx(expected, rel=1e-12)


def test_each_served_version_is_measured_apart_and_one_no_longer_served_loses_its_series(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn(), served=("1", "2"))
    probability, predicted, truth = scored_customers(400, seed=2)
    ids = list(range(1, 401))
    # Version 2 answers the second half, and gets its probabilities backwards.
    box.predict(NOW - timedelta(hours=2), ids[:200], "1", probability=probability[:200].tolist(), label=predicted[:200].tolist())
    box.predict(NOW - timedelta(hours=2), ids[200:], "2", probability=(1 - probability[200:]).tolist(), label=predicted[200:].tolist())
    box.labels(ids, NOW - timedelta(hours=1), truth.tolist())

    box.monitor.evaluate(NOW)

    assert box.quality(version="1") == pytest.approx(sk.roc_auc_score(truth[:200], probability[:200]))
    assert box.quality(version="2") == pytest.approx(sk.roc_auc_score(truth[200:], 1 - probability[200:]))
    assert box.quality(version="2") < 0.5 < box.quality(version="1")  # type: ignore[operator]
    assert box.labelled("1") == box.labelled("2") == 200

    box.served = {"2"}
    box.monitor.evaluate(NOW)

    assert box.quality(version="1") is None and box.labelled("1") is None
    assert box.quality(version="2") is not None


# --- when there is no honest value ---------------------------------------------------------------


def test_too_few_labels_leave_the_quality_series_absent(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())  # min_labels is 100
    probability, predicted, truth = scored_customers(150, seed=3)
    ids = list(range(1, 151))
    box.predict(NOW - timedelta(hours=2), ids, probability=probability.tolist(), label=predicted.tolist())
    box.labels(ids[:99], NOW - timedelta(hours=1), truth[:99].tolist())  # the rest have no outcome yet

    [reading] = box.monitor.evaluate(NOW)

    assert box.quality() is None
    assert box.labelled() == 99 and reading.labelled == 99
    assert reading.value is None and "at least 100 (min_labels)" in reading.note

    box.labels(ids[99:100], NOW - timedelta(hours=1), truth[99:100].tolist())
    box.monitor.evaluate(NOW)

    assert box.quality() == pytest.approx(sk.roc_auc_score(truth[:100], probability[:100]))


def test_roc_auc_over_labels_of_one_class_is_absent(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())
    probability, predicted, _ = scored_customers(200, seed=4)
    ids = list(range(1, 201))
    box.predict(NOW - timedelta(hours=2), ids, probability=probability.tolist(), label=predicted.tolist())
    box.labels(ids, NOW - timedelta(hours=1), [0] * 200)

    [reading] = box.monitor.evaluate(NOW)

    assert box.quality() is None
    assert box.labelled() == 200
    assert "needs both classes among the labels" in reading.note


def test_predictions_older_than_the_window_do_not_count(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())  # window 1d
    probability, predicted, truth = scored_customers(300, seed=5)
    ids = list(range(1, 301))
    box.predict(NOW - timedelta(hours=30), ids[:150], probability=probability[:150].tolist(), label=predicted[:150].tolist())
    box.predict(NOW - timedelta(hours=2), ids[150:], probability=probability[150:].tolist(), label=predicted[150:].tolist())
    box.labels(ids, NOW - timedelta(hours=1), truth.tolist())

    box.monitor.evaluate(NOW)

    assert box.labelled() == 150
    assert box.quality() == pytest.approx(sk.roc_auc_score(truth[150:], probability[150:]))


def test_missing_labels_are_a_note_not_a_failure(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())
    box.predict(NOW - timedelta(hours=2), [1, 2], probability=[0.2, 0.8], label=[0, 1])

    [reading] = box.monitor.evaluate(NOW)

    assert box.quality() is None and box.labelled() == 0
    assert "cannot read label source 'churn_labels'" in reading.note


# --- what the model server writes is what the monitor reads ---------------------------------------


def test_captured_records_carry_the_keys_and_the_monitor_joins_them(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())
    capture = Capture(box.paths.capture, DataCapture(), seed=1)
    probability, predicted, truth = scored_customers(120, seed=6)
    ids = list(range(1, 121))
    capture.write(
        "churn",
        "1",
        "r-1",
        {"tenure_months": [1.0] * 120},
        {"probability": probability.tolist(), "label": predicted.tolist()},
        {"customer_id": ids},
    )
    capture.write("churn", "1", "r-2", {"tenure_months": [1.0]}, {"probability": [0.5], "label": [1]})
    now = datetime.now(UTC)
    box.labels(ids, now + timedelta(minutes=1), truth.tolist())

    [record, keyless] = [json.loads(line) for line in next((box.paths.capture / "churn").glob("*.jsonl")).read_text().splitlines()]
    assert record["keys"] == {"customer_id": ids} and "keys" not in keyless

    box.monitor.evaluate(now + timedelta(minutes=2))

    assert box.labelled() == 120
    assert box.quality() == pytest.approx(sk.roc_auc_score(truth, probability))


# --- the alert rule watches exactly what is exported ----------------------------------------------

PROMTOOL = shutil.which("promtool") or "promtool"


def exported_series(registry: CollectorRegistry, name: str) -> list[tuple[str, float]]:
    """Samples of one metric in Prometheus series notation (``name{label="value",...}``), with their values."""
    return [
        (sample.name + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items())) + "}", sample.value)
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


def alert_fires(tmp_path: Path, rule: dict[str, Any], series: list[tuple[str, float]]) -> bool:
    """Whether ``promtool test rules`` confirms the rule fires on these series (held for ten minutes)."""
    [(_, value)] = series
    expected = {"exp_labels": rule["labels"], "exp_annotations": {**rule["annotations"], "value": f"{value:.3f}"}}
    test = {
        "interval": "1m",
        "input_series": [{"series": name, "values": f"{value}x15"} for name, value in series],
        "alert_rule_test": [{"eval_time": "10m", "alertname": rule["alert"], "exp_alerts": [expected]}],
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "quality", "rules": [rule]}]}))
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [test]}))
    result = subprocess.run([PROMTOOL, "test", "rules", "tests.yml"], capture_output=True, text=True, cwd=tmp_path)
    return result.returncode == 0


def test_the_quality_alert_fires_on_the_series_the_monitor_exports(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, churn())
    probability, predicted, truth = scored_customers(200, seed=7)
    ids = list(range(1, 201))
    box.predict(NOW - timedelta(hours=2), ids, probability=(1 - probability).tolist(), label=predicted.tolist())  # a bad model
    box.labels(ids, NOW - timedelta(hours=1), truth.tolist())
    box.monitor.evaluate(NOW)
    [rule] = [r for group in rule_groups(box.platform) for r in group["rules"] if r["alert"] == QUALITY]

    series = exported_series(box.registry, "mlops_model_quality")

    assert [name for name, _ in series] == ['mlops_model_quality{metric="roc_auc",model="churn",version="1"}']
    assert series[0][1] < 0.72  # below the monitor's threshold
    assert alert_fires(tmp_path, rule, series)
    # The same check fails on a series the rule does not select, so passing it means the names agree.
    assert not alert_fires(tmp_path, rule, [(name.replace('metric="', 'measure="'), value) for name, value in series])


# --- the monitor service ---------------------------------------------------------------------------


@pytest.fixture
def services(trained_state: Path, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A model server capturing every request and ``mlops monitor`` on a copy of the trained state."""
    state = copy_state(trained_state, tmp_path / "state")
    spec = load_platform(
        SPEC, environment="local", stack=StackOverrides({"models.churn.serving.data_capture.sampling_percent": 100}, "test")
    )
    (tmp_path / "spec.json").write_text(resolved_json(spec["local"]))
    common = ["--spec", str(tmp_path / "spec.json"), "--env", "local", "--state-dir", str(state)]
    server_port, monitor_port = free_port(), free_port()
    nobody = f"http://127.0.0.1:{free_port()}"  # no Prometheus: drift has nothing to read, quality needs none
    server = Process(mlops("serve", *common, "--port", str(server_port)), tmp_path / "serve.log")
    monitor = Process(
        mlops("monitor", *common, "--port", str(monitor_port), "--prometheus-url", nobody, "--interval", "1"), tmp_path / "monitor.log"
    )
    try:
        server.wait_http(f"http://127.0.0.1:{server_port}/v2/health/ready", timeout=90)
        monitor.wait_http(f"http://127.0.0.1:{monitor_port}/healthz", timeout=90)
        yield f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{monitor_port}", state
    finally:
        monitor.stop()
        server.stop()


@pytest.mark.slow
def test_mlops_monitor_scores_served_traffic_once_its_labels_arrive(services: tuple[str, str, Path]) -> None:
    server, monitor, state = services
    data = data_module()
    rng = np.random.default_rng(8)
    probabilities, outcomes = [], []
    with httpx.Client(base_url=server, timeout=10) as client:
        for batch in range(8):
            rows = data.requests(25, seed=100 + batch)
            ids = list(range(5_000_000 + 25 * batch, 5_000_000 + 25 * (batch + 1)))
            inputs = [{"name": "customer_id", "shape": [25], "datatype": "INT64", "data": ids}]
            inputs += [
                {"name": name, "shape": [25], "datatype": "FP64", "data": rows[name].astype(float).tolist()} for name in data.FEATURES
            ]
            answer = client.post("/v2/models/churn/infer", json={"inputs": inputs, "outputs": [{"name": "probability"}]})
            assert answer.status_code == 200, answer.text
            probabilities += answer.json()["outputs"][0]["data"]
            outcomes += data.labels(rows, rng).tolist()
    wait_until(lambda: httpx.get(f"{monitor}/quality").json()["readings"] != [], 30, "a first quality round")
    before = httpx.get(f"{monitor}/quality").json()["readings"]
    assert [(r["model"], r["version"], r["value"]) for r in before] == [("churn", "1", None)]  # no labels yet

    write_labels(
        StatePaths(state).data_root, "traffic", list(range(5_000_000, 5_000_200)), datetime.now(UTC) + timedelta(minutes=1), outcomes
    )

    def scored() -> bool:
        return httpx.get(f"{monitor}/quality").json()["readings"][0]["value"] is not None

    wait_until(scored, 30, "a quality value on /quality")
    [reading] = httpx.get(f"{monitor}/quality").json()["readings"]
    expected = sk.roc_auc_score(outcomes, probabilities)
    assert reading["metric"] == "roc_auc" and reading["labelled"] == 200
    assert reading["value"] == pytest.approx(expected)
    exposition = httpx.get(f"{monitor}/metrics").text
    assert 'mlops_model_quality_labels{model="churn",version="1"} 200.0' in exposition
    assert f'mlops_model_quality{{metric="roc_auc",model="churn",version="1"}} {reading["value"]!r}' in exposition
