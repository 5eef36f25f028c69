"""The churn example's data generator, and trained state directories built from it."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_dsl.runtime.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "churn" / "platform.py"


def data_module() -> ModuleType:
    """examples/churn/data.py, imported by path (examples are not a package)."""
    spec = importlib.util.spec_from_file_location("churn_example_data", ROOT / "examples" / "churn" / "data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_state(source: Path, target: Path) -> Path:
    """A private copy of a state directory (tests that change it must not share it)."""
    shutil.copytree(source, target)
    return target


def register_copy(registry: ModelRegistry, reason: str) -> str:
    """Register a copy of version 1 of churn as a new, gated, automatically approved version; returns its version."""
    from mlops_dsl.runtime.registry import GateResult, Lineage

    stable = registry.load("churn", "1")
    info = registry.versions("churn")[0]
    lineage = Lineage(info.lineage["data_snapshot"], "test", info.lineage["parameters"], reason, stable.features, "classification", 1)
    return registry.register(
        "churn",
        stable.estimator,
        metrics=info.metrics,
        baseline=stable.baseline,
        lineage=lineage,
        gate=GateResult(True, "test"),
        approval="automatic",
    ).version


def register_canary(registry: ModelRegistry) -> str:
    """Register a copy of version 1 of churn and make it the canary; returns its version."""
    from mlops_dsl.runtime.registry import CANARY

    version = register_copy(registry, "canary test")
    registry.promote("churn", version, CANARY)
    return version
