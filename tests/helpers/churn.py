"""The churn example's data generator, and trained state directories built from it."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

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
