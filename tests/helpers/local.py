"""The churn example on the local target, in a temporary directory, on ports nobody else uses."""

from __future__ import annotations

import importlib.util
import random
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_dsl.local.layout import OFFSETS
from mlops_dsl.local.processes import port_in_use
from mlops_dsl.local.status import collect
from mlops_dsl.local.up import resolve
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "churn"


def free_base_port(first: int = 20000, last: int = 32000, step: int = 97) -> int:
    """A base port whose every offset is free (tests running side by side start at different places).

    Below Linux's ephemeral range (32768-60999): there, a client's own outgoing port can be the one a
    service is about to listen on, and a probe can connect to itself.
    """
    start = random.randrange(first, last - step)
    for base in [*range(start, last, step), *range(first, start, step)]:
        if not any(port_in_use("127.0.0.1", base + offset) for offset in OFFSETS.values()):
            return base
    raise RuntimeError("no free block of ports for the local platform")


def copy_example(folder: Path, *, base_port: int, replace: dict[str, str] | None = None) -> Path:
    """Copy the churn example into ``folder`` with its local target on ``base_port``; returns the spec file.

    ``replace`` edits the copy's text (each old text must be there, so a stale edit fails loudly).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("platform.py", "data.py", "traffic.py"):
        shutil.copy(EXAMPLE / name, folder / name)
    spec = folder / "platform.py"
    text = spec.read_text()
    for old, new in {"target=LocalTarget()": f"target=LocalTarget(base_port={base_port})", **(replace or {})}.items():
        assert old in text, f"the churn example no longer has {old!r}"
        text = text.replace(old, new)
    spec.write_text(text)
    return spec


def mlops(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``mlops`` command as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "mlops_dsl", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def traffic_module(folder: Path) -> Any:
    """The example's traffic sender, imported from the copy."""
    name = f"churn_traffic_{abs(hash(str(folder)))}"
    spec = importlib.util.spec_from_file_location(name, folder / "traffic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@dataclass
class RunningPlatform:
    """A platform ``mlops up`` brought up for a test: its spec file, state directory and ports."""

    spec: Path
    state: Path
    base_port: int

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.base_port + 10}"

    def status(self) -> dict[str, Any]:
        """What ``mlops status --json`` shows."""
        return collect(resolve(str(self.spec), None, str(self.state)))

    def decisions(self) -> list[dict[str, Any]]:
        """Every decision the retraining trigger recorded, oldest first."""
        with sqlite3.connect(f"file:{self.state / 'trigger.db'}?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM decisions ORDER BY id")]

    def logs(self) -> str:
        """The tail of every service's and run's log, for a failure message."""
        parts = []
        for log in sorted([*(self.state / "logs").glob("*.log"), *(self.state / "runs").glob("*/log.txt")]):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- {log.relative_to(self.state)}\n" + "\n".join(lines))
        return "\n".join(parts)
