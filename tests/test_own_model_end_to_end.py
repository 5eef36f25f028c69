"""Bring your own model, end to end on the local target: a team's platform that is not one of the examples.

The platform (tests/helpers/own_model.py) is written into a temporary folder
with its own code (``src/fleet_ml``: an estimator factory whose Pipeline starts
with the team's feature function, and a training function), a CSV source and a
Parquet source, a multiclass and a regression model, and a spec named
``platform.py``. ``mlops up`` runs from another working directory. Traffic
goes through the Triton HTTP client's default ``infer`` call (binary tensor
data), then shifts; the drift alert starts one retraining run, which imports
the team's code from the platform's copy, succeeds, and records the code's
content hash in the new version's lineage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from mlops_dsl.contracts.code import code_hash
from mlops_dsl.local.up import resolve
from mlops_dsl.runtime.registry import ModelRegistry
from tests.helpers.local import RunningPlatform, free_base_port, mlops
from tests.helpers.own_model import CLASSES, FEATURES, vehicles, write_data, write_project
from tests.helpers.processes import wait_until

pytestmark = pytest.mark.slow

ALERT = "condition-drift"


@dataclass
class Fleet(RunningPlatform):
    project: Path
    elsewhere: Path
    up_output: str

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.base_port}"

    def registry(self) -> ModelRegistry:
        return ModelRegistry(resolve(str(self.spec), None, str(self.state)).paths.registry_uri())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("own-model")
    base_port = free_base_port()
    spec = write_project(root / "project", base_port=base_port)
    state = root / "state"
    write_data(state / "data")
    elsewhere = root / "elsewhere"  # not the spec's folder, not its parent: nothing may depend on where `mlops up` runs
    elsewhere.mkdir()
    up = mlops("up", spec.resolve(), "--state-dir", state.resolve(), cwd=elsewhere, timeout=900)
    result = Fleet(spec.resolve(), state.resolve(), base_port, root / "project", elsewhere, up.stdout)
    try:
        assert up.returncode == 0, f"mlops up failed:\n{up.stdout}\n{up.stderr}\n{result.logs() if state.exists() else ''}"
        yield result
    finally:
        mlops("down", spec.resolve(), "--state-dir", state.resolve(), cwd=elsewhere)


def infer(client: triton.InferenceServerClient, model: str, frame: Any) -> triton.InferResult:
    """The Triton client's default call: binary tensor data in, binary data out."""
    inputs = []
    for name in FEATURES:
        tensor = triton.InferInput(name, [len(frame)], "FP64")
        tensor.set_data_from_numpy(frame[name].to_numpy(dtype=np.float64))  # binary_data=True, the default
        inputs.append(tensor)
    key = triton.InferInput("vehicle_id", [len(frame)], "INT64")
    key.set_data_from_numpy(frame["vehicle_id"].to_numpy(dtype=np.int64))
    inputs.append(key)
    return client.infer(model, inputs)


@dataclass
class Traffic:
    """Vehicles scored in the background through the Triton client, counting what failed."""

    fleet: Fleet
    shift: float
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        client = triton.InferenceServerClient(self.fleet.server, connection_timeout=10, network_timeout=10)
        batch = 0
        while not self.stopping.is_set():
            frame = vehicles(20, seed=1000 + batch, shift=self.shift, first_id=100_000 + 20 * batch)
            batch += 1
            for model in ("condition", "repair-cost"):
                try:
                    infer(client, model, frame)
                    self.sent += len(frame)
                except Exception as error:  # every kind of failure counts, and is shown
                    self.failures.append(f"{model}: {type(error).__name__}: {error}")
            time.sleep(0.1)

    def __enter__(self) -> Traffic:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def test_up_trains_both_models_with_the_team_code_from_another_folder(fleet: Fleet) -> None:
    assert "code: 4 files from src" in fleet.up_output, fleet.up_output
    status = fleet.status()
    assert all(p["running"] for p in status["processes"].values()), fleet.logs()
    expected = code_hash(fleet.project / "src")
    registry = fleet.registry()
    for model, needle in (("condition", "fleet_ml.models.condition_pipeline"), ("repair-cost", "fleet_ml.training.fit_cost")):
        (first,) = registry.versions(model)
        assert first.status == "production", first
        assert first.lineage["code_hash"] == expected
        assert needle in first.lineage["parameters"].values()
    # This process never had src/ on its path: the version carries its own copy of the code.
    loaded = registry.load("condition", "1")
    assert loaded.estimator.steps[0][1].func.__module__ == "fleet_ml.features"


def test_the_triton_client_default_call_gets_class_probabilities_and_costs(fleet: Fleet) -> None:
    client = triton.InferenceServerClient(fleet.server)
    frame = vehicles(16, seed=99)
    answer = infer(client, "condition", frame)
    probabilities = answer.as_numpy("probabilities")
    assert probabilities is not None and probabilities.shape == (16, len(CLASSES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-9)
    metadata = client.get_model_metadata("condition")
    (output,) = [o for o in metadata["outputs"] if o["name"] == "probabilities"]
    assert output["shape"] == [-1, len(CLASSES)] and [int(c) for c in output["parameters"]["class_labels"]] == CLASSES
    labels = answer.as_numpy("label")
    assert labels is not None and set(labels.tolist()) <= set(CLASSES)
    costs = infer(client, "repair-cost", frame).as_numpy("prediction")
    assert costs is not None and costs.shape[0] == 16 and np.isfinite(costs).all()


def test_a_shift_retrains_with_the_team_code_and_records_its_hash(fleet: Fleet) -> None:
    with Traffic(fleet, shift=0.0) as normal:
        time.sleep(15)
    assert normal.sent > 0 and not normal.failures, normal.failures[:3]

    shifted_at = time.monotonic()
    with Traffic(fleet, shift=1.0) as shifted:

        def alert_runs() -> list[dict[str, Any]]:
            return [r for r in fleet.status()["models"]["condition"]["retraining_runs"] if r["trigger"] == f"alert:{ALERT}"]

        wait_until(lambda: bool(alert_runs()), 300, f"{ALERT} to start a retraining run\n{fleet.logs()}", interval=1)
        wait_until(lambda: alert_runs()[0]["status"] != "running", 300, f"the run to finish\n{fleet.logs()}", interval=1)
    run = alert_runs()[0]
    assert run["status"] == "succeeded", f"{run}\n{fleet.logs()}"
    print(
        f"\n{ALERT}: run {run['id']} {run['outcome']} -> v{run['version']} {time.monotonic() - shifted_at:.0f}s after the shift; "
        f"{normal.sent + shifted.sent} rows scored through the Triton client, {len(shifted.failures)} failed"
    )
    assert not shifted.failures, shifted.failures[:3]

    registry = fleet.registry()
    new = next(v for v in registry.versions("condition") if v.version == run["version"])
    assert ALERT in new.lineage["trigger_reason"]
    assert new.lineage["code_hash"] == code_hash(fleet.project / "src")
    assert new.lineage["parameters"]["estimator"] == "fleet_ml.models.condition_pipeline"
    retrained = registry.load("condition", new.version)
    assert retrained.estimator.steps[0][1].func.__module__ == "fleet_ml.features"
    assert [d for d in fleet.decisions() if d["action"] == "start" and d["trigger"] == f"alert:{ALERT}"]


def test_status_shows_the_runs_and_down_stops_everything(fleet: Fleet) -> None:
    shown = mlops("status", fleet.spec, "--state-dir", fleet.state, cwd=fleet.elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert "Model condition" in shown.stdout and "Model repair-cost" in shown.stdout
    down = mlops("down", fleet.spec, "--state-dir", fleet.state, cwd=fleet.elsewhere)
    assert down.returncode == 0 and "5 process(es) stopped" in down.stdout, down.stdout
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{fleet.server}/v2/health/live", timeout=2)
