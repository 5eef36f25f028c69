"""What every runtime service shares: the resolved spec it serves, and where its state lives.

On the local target the state directory holds everything (the data, the Feast
repo, the registry, retraining runs, captured requests); in containers each
service gets the same layout on a volume, or is pointed elsewhere by flags and
environment variables (``MLOPS_REGISTRY_URI`` for an MLflow server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlops_dsl.contracts.environment import ENVIRONMENT_ENV, REGISTRY_URI_ENV, SPEC_ENV
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.runtime.code import activate, code_from_environment, deployed_code
from mlops_dsl.spec.environment import LocalTarget
from mlops_dsl.spec.feature_store import Source
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of


@dataclass(frozen=True)
class StatePaths:
    """The layout of a state directory."""

    root: Path

    @property
    def data_root(self) -> Path:
        """Raw data: the sources' files, under their spec paths."""
        return self.root / "data"

    @property
    def feature_repo(self) -> Path:
        """Feast's registry and online store."""
        return self.root / "feast"

    @property
    def runs(self) -> Path:
        """One directory per retraining run: its log and result."""
        return self.root / "runs"

    @property
    def capture(self) -> Path:
        """Captured requests and responses (JSON lines), per model."""
        return self.root / "capture"

    @property
    def trigger_db(self) -> Path:
        """The retraining trigger's decisions and runs (SQLite)."""
        return self.root / "trigger.db"

    def registry_uri(self) -> str:
        """The model registry: MLOPS_REGISTRY_URI if set (an MLflow server), else SQLite in the state directory.

        Not MLFLOW_TRACKING_URI: MLflow itself sets that variable whenever a
        process picks a tracking URI, so it cannot be trusted as configuration.
        """
        from mlops_dsl.runtime.registry import local_uri

        return os.environ.get(REGISTRY_URI_ENV) or local_uri(self.root)


def source_path(source: Source, data_root: Path | str) -> str:
    """Where a source's files are: its path under the data root, unless it is absolute."""
    if "://" in source.path or source.path.startswith("/"):
        return source.path
    return str(Path(data_root) / source.path)


def source_files(source: Source, data_root: Path | str) -> list[Path]:
    """A source's files of its format (``*.parquet`` or ``*.csv``), by name: those directly in its folder, or its path if that is one.

    Names starting with ``.`` or ``_`` are left out, as Parquet readers leave
    them out of a folder: a writer can fill such a file and rename it when done.
    A remote path (``s3://``) has no files here.
    """
    if "://" in source.path:
        return []
    path = Path(source_path(source, data_root))
    suffix = f".{source.format}"
    if path.is_file():
        return [path] if path.suffix == suffix else []
    if not path.is_dir():
        return []
    return sorted(p for p in path.glob(f"*{suffix}") if not p.name.startswith((".", "_")) and p.is_file())


def default_state_dir(spec: ResolvedSpec) -> Path:
    """Where a platform environment keeps its state unless told otherwise."""
    base = spec.target.state_dir if isinstance(spec.target, LocalTarget) else ".mlops"
    return Path(base) / f"{spec.platform.name}-{spec.environment}"


def load_for_service(spec_file: str | None, environment: str | None) -> ResolvedSpec:
    """The resolved spec a service runs with (flags, or MLOPS_SPEC / MLOPS_ENV)."""
    spec_file = spec_file or os.environ.get(SPEC_ENV)
    environment = environment or os.environ.get(ENVIRONMENT_ENV)
    if not spec_file:
        raise SpecError([Problem("--spec", got_allowed(None, f"a platform spec file (or set {SPEC_ENV})"), source="mlops")])
    # First the code the target put here, so the spec's check of its estimators sees what the runs will import.
    activate(code_from_environment())
    resolved = load_platform(spec_file, environment=environment)
    spec = _one(resolved, environment)
    activate(deployed_code(spec))  # the team's code, importable in every service alike
    return spec


def _one(resolved: dict[str, ResolvedSpec], environment: str | None) -> ResolvedSpec:
    if environment is None:
        if len(resolved) != 1:
            raise SpecError(
                [
                    Problem(
                        "--env",
                        got_allowed(None, f"one of the spec's environments: {one_of(set(resolved))} (or set {ENVIRONMENT_ENV})"),
                        source="mlops",
                    )
                ]
            )
        return next(iter(resolved.values()))
    return resolved[environment]
