"""The model registry: versions with their lineage, promotion by alias, loading for serving.

Backed by MLflow's tracking server and model registry, the field's standard:
a SQLite database and a local artifact directory on the local target, an
MLflow server (database backend, artifact store) on Kubernetes. The same
client code talks to both.

Registration is atomic: the model, its baseline and metrics are logged to a
run first, and only then is the version created, with every lineage tag, in
one database transaction. A trainer killed at any point leaves either no
version or a complete one. Promotion moves the ``production`` (or ``canary``)
alias, a single update.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mlops_dsl.runtime.baseline import Baseline
from mlops_dsl.runtime.code import cached_folder, isolated, snapshot
from mlops_dsl.spec.feature_store import column_of

# MLflow reads these when it is imported: no telemetry, no progress bars in logs.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

for _noisy in ("mlflow", "alembic", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
# Pickle is the format the scikit-learn flavour loads fastest; the registry is ours, not untrusted input.
logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)

PRODUCTION = "production"
CANARY = "canary"
Status = Literal["production", "canary", "candidate", "pending_approval", "rejected", "archived"]
_TAG = "mlops."
CODE_ARTIFACT = "code"


@dataclass(frozen=True)
class Lineage:
    """What every version records about how it was made."""

    data_snapshot: str
    code_version: str
    parameters: dict[str, Any]
    trigger_reason: str
    features: list[str]
    task: str
    training_rows: int
    code_hash: str | None = None
    """The content hash of the team's code (``Platform.code``) the version was trained with."""
    code_commit: str | None = None
    """Its git commit, where the deploying side found the code folder clean in its repository."""


@dataclass(frozen=True)
class GateResult:
    """The evaluation gate's verdict on a candidate."""

    passed: bool
    reason: str
    production_version: str | None = None
    production_score: float | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One registered version, as ``mlops status`` and the services see it."""

    model: str
    version: str
    status: Status
    aliases: list[str]
    metrics: dict[str, float]
    lineage: dict[str, Any]
    gate_passed: bool
    gate_reason: str
    created_at: datetime
    run_id: str
    gate_production: tuple[str, float] | None = None
    """The production version the gate compared against, and its score on the same test rows."""


@dataclass
class LoadedModel:
    """A version ready to serve: the estimator, its input features and its baseline."""

    model: str
    version: str
    estimator: Any
    features: list[str]
    task: str
    baseline: Baseline
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """The input columns, in the order the estimator expects them."""
        return self.extra.setdefault("inputs", [column_of(ref) for ref in self.features])


def local_uri(state_dir: Path) -> str:
    """The registry URI of a local state directory (a SQLite database)."""
    return f"sqlite:///{(state_dir / 'registry' / 'mlflow.db').resolve()}"


class ModelRegistry:
    """Register, promote, list and load model versions."""

    def __init__(self, uri: str, artifact_root: Path | None = None) -> None:
        self.uri = uri
        if uri.startswith("sqlite:///"):
            database = Path(uri.removeprefix("sqlite:///"))
            database.parent.mkdir(parents=True, exist_ok=True)
            # Artifacts beside the database, never in the working directory (MLflow's default ./mlruns).
            artifact_root = artifact_root or (database.parent / "artifacts").resolve()
        self.artifact_root = artifact_root
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _activate(self) -> None:
        # mlflow.sklearn.log_model and load_model use the process-wide URIs.
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    @classmethod
    def local(cls, state_dir: Path) -> ModelRegistry:
        """The registry kept in a local state directory."""
        return cls(local_uri(state_dir), artifact_root=(state_dir / "registry" / "artifacts").resolve())

    # --- writing ---------------------------------------------------------------

    def _experiment_id(self, model: str) -> str:
        experiment = self.client.get_experiment_by_name(model)
        if experiment is not None:
            return str(experiment.experiment_id)
        location = (self.artifact_root / model).as_uri() if self.artifact_root else None
        try:
            return str(self.client.create_experiment(model, artifact_location=location))
        except MlflowException:  # created meanwhile by another trainer
            experiment = self.client.get_experiment_by_name(model)
            assert experiment is not None
            return str(experiment.experiment_id)

    def _ensure_registered(self, model: str) -> None:
        try:
            self.client.get_registered_model(model)
        except MlflowException:
            with contextlib.suppress(MlflowException):  # created meanwhile by another trainer
                self.client.create_registered_model(model, tags={f"{_TAG}kind": "model"})

    def register(
        self,
        model: str,
        estimator: Any,
        *,
        metrics: dict[str, float],
        baseline: Baseline,
        lineage: Lineage,
        gate: GateResult,
        approval: str,
        code: Path | None = None,
        checkpoint: Any = None,
    ) -> VersionInfo:
        """Record a trained candidate as a new version, atomically.

        ``code`` is the folder of the team's code it was trained with: the version keeps a copy (artifact
        ``code/``), which serving imports the version's objects from, whatever code is deployed later.

        ``checkpoint(step)`` is called between steps; tests use it to kill the
        process at each one and check that the registry stays consistent.
        """
        mark = checkpoint or (lambda step: None)
        self._activate()
        experiment_id = self._experiment_id(model)
        self._ensure_registered(model)
        tags = {
            f"{_TAG}data_snapshot": lineage.data_snapshot,
            f"{_TAG}code_version": lineage.code_version,
            f"{_TAG}trigger_reason": lineage.trigger_reason,
            f"{_TAG}parameters": json.dumps(lineage.parameters, sort_keys=True),
            f"{_TAG}metrics": json.dumps(metrics, sort_keys=True),
            f"{_TAG}features": json.dumps(lineage.features),
            f"{_TAG}task": lineage.task,
            f"{_TAG}training_rows": str(lineage.training_rows),
            f"{_TAG}gate": "passed" if gate.passed else "failed",
            f"{_TAG}gate_reason": gate.reason,
            **(
                {f"{_TAG}gate_production": json.dumps([gate.production_version, gate.production_score])}
                if gate.production_version is not None and gate.production_score is not None
                else {}
            ),
            f"{_TAG}approval": approval,
            f"{_TAG}baseline": "baseline.json",
            **({f"{_TAG}code_hash": lineage.code_hash} if lineage.code_hash else {}),
            **({f"{_TAG}code_commit": lineage.code_commit} if lineage.code_commit else {}),
        }
        with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
            mark("run_started")
            mlflow.log_params({key: str(value) for key, value in lineage.parameters.items()})
            mlflow.log_metrics(metrics)
            mark("metrics_logged")
            logged = mlflow.sklearn.log_model(
                estimator, name="model", pip_requirements=["scikit-learn"], serialization_format="cloudpickle"
            )
            mark("model_logged")
            mlflow.log_dict(baseline.model_dump(mode="json"), "baseline.json")
            mark("baseline_logged")
            if code is not None:
                with tempfile.TemporaryDirectory() as scratch:
                    copy = Path(scratch) / CODE_ARTIFACT
                    snapshot(code, copy)
                    mlflow.log_artifacts(str(copy), CODE_ARTIFACT)
                mark("code_logged")
        # The version, with all its tags, is one insert: it exists whole or not at all.
        created = self.client.create_model_version(
            model, logged.model_uri, run.info.run_id, tags={**tags, f"{_TAG}run_id": run.info.run_id}
        )
        mark("version_created")
        return self._info(created)

    def promote(self, model: str, version: str, alias: str = PRODUCTION) -> None:
        """Point ``alias`` at ``version`` (one update); the previous holder keeps its history."""
        previous = self.version_for(model, alias)
        self.client.set_registered_model_alias(model, alias, version)
        stamp = datetime.now(UTC).isoformat()
        self.client.set_model_version_tag(model, version, f"{_TAG}{alias}_since", stamp)
        if previous is not None and previous.version != version:
            self.client.set_model_version_tag(model, previous.version, f"{_TAG}{alias}_until", stamp)

    def clear(self, model: str, alias: str) -> None:
        """Remove an alias (a canary rolled back or promoted)."""
        with contextlib.suppress(MlflowException):
            self.client.delete_registered_model_alias(model, alias)

    # --- reading ---------------------------------------------------------------

    def _info(self, version: Any) -> VersionInfo:
        tags = dict(version.tags or {})
        aliases = list(version.aliases or [])
        gate_passed = tags.get(f"{_TAG}gate") == "passed"
        status: Status
        if PRODUCTION in aliases:
            status = "production"
        elif CANARY in aliases:
            status = "canary"
        elif not gate_passed:
            status = "rejected"
        elif f"{_TAG}{PRODUCTION}_since" in tags:
            status = "archived"
        elif tags.get(f"{_TAG}approval") == "manual":
            status = "pending_approval"
        else:
            status = "candidate"
        lineage = {
            "data_snapshot": tags.get(f"{_TAG}data_snapshot", ""),
            "code_version": tags.get(f"{_TAG}code_version", ""),
            "trigger_reason": tags.get(f"{_TAG}trigger_reason", ""),
            "parameters": json.loads(tags.get(f"{_TAG}parameters", "{}")),
            "features": json.loads(tags.get(f"{_TAG}features", "[]")),
            "training_rows": int(tags.get(f"{_TAG}training_rows", "0")),
            "baseline": tags.get(f"{_TAG}baseline", ""),
            "code_hash": tags.get(f"{_TAG}code_hash", ""),
            "code_commit": tags.get(f"{_TAG}code_commit", ""),
        }
        return VersionInfo(
            model=version.name,
            version=str(version.version),
            status=status,
            aliases=aliases,
            metrics=json.loads(tags.get(f"{_TAG}metrics", "{}")),
            lineage=lineage,
            gate_passed=gate_passed,
            gate_reason=tags.get(f"{_TAG}gate_reason", ""),
            created_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
            run_id=str(version.run_id),
            gate_production=_pair(tags.get(f"{_TAG}gate_production")),
        )

    def versions(self, model: str) -> list[VersionInfo]:
        """Every version of a model, oldest first (empty if it has none)."""
        try:
            found = self.client.search_model_versions(f"name='{model}'")
        except MlflowException:
            return []
        # search results carry no aliases; fetch each version for them.
        infos = [self._info(self.client.get_model_version(model, v.version)) for v in found]
        return sorted(infos, key=lambda info: int(info.version))

    def version_for(self, model: str, alias: str = PRODUCTION) -> VersionInfo | None:
        """The version an alias points at, if any."""
        try:
            return self._info(self.client.get_model_version_by_alias(model, alias))
        except MlflowException:
            return None

    def alias_version(self, model: str, alias: str = PRODUCTION) -> str | None:
        """Just the version number an alias points at (cheap enough to poll)."""
        try:
            return str(self.client.get_model_version_by_alias(model, alias).version)
        except MlflowException:
            return None

    def baseline(self, model: str, version: str) -> Baseline:
        """Just a version's training baseline (what the drift monitor compares with)."""
        record = self.client.get_model_version(model, version)
        name = (record.tags or {}).get(f"{_TAG}baseline") or "baseline.json"
        with tempfile.TemporaryDirectory() as scratch:
            path = self.client.download_artifacts(str(record.run_id), name, scratch)
            return Baseline.model_validate_json(Path(path).read_text())

    def load(self, model: str, version: str) -> LoadedModel:
        """Load a version's estimator and baseline for serving or comparison."""
        record = self.client.get_model_version(model, version)
        info = self._info(record)
        self._activate()
        code = self._code(record.run_id, info.lineage["code_hash"])
        with isolated(code) if code is not None else contextlib.nullcontext():
            estimator = mlflow.sklearn.load_model(f"models:/{model}/{version}")
        baseline = self.baseline(model, version)
        return LoadedModel(
            model=model,
            version=version,
            estimator=estimator,
            features=list(info.lineage["features"]),
            task=(record.tags or {}).get(f"{_TAG}task", "classification"),
            baseline=baseline,
        )

    def _code(self, run_id: str, code_hash: str) -> Path | None:
        """The copy of the team's code a version was trained with, downloaded once per hash; None if it has none."""
        if not code_hash:
            return None
        return cached_folder(
            f"version-{code_hash.removeprefix('sha256:')[:16]}",
            lambda scratch: Path(self.client.download_artifacts(run_id, CODE_ARTIFACT, str(scratch))),
        )


def _pair(tag: str | None) -> tuple[str, float] | None:
    """The gate's production comparison from its tag (absent for first versions and gates that compare with nothing)."""
    if not tag:
        return None
    version, score = json.loads(tag)
    return str(version), float(score)
