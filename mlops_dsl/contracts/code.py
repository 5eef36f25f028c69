"""The team's code (``Platform.code``): which files it is, its content hash, and where each target puts it.

One definition of the file set serves every side: ``mlops validate`` checks it,
the local target copies it into the state directory, the Kubernetes target
mounts it from a ConfigMap, the AWS target uploads it as an archive to the
artifacts bucket, and the runtime hashes what it imports into each version's
lineage. The same files give the same hash wherever they are, so a version's
``code_hash`` says which code trained it in any target.

A file is part of the code unless a component of its path starts with ``.``
(``.git``, ``.venv``, ``.mlops``, a ConfigMap volume's ``..data``) or is
``__pycache__``, or it is compiled bytecode. Symbolic links are followed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mlops_dsl.contracts.environment import CODE_DIR_ENV

KUBERNETES_CODE_DIR = "/opt/mlops/code"
"""Where every Kubernetes pod that runs the runtime image mounts the code (read-only)."""
CONFIG_MAP_BUDGET = 1_000_000
"""The most file content a Kubernetes ConfigMap can carry (the API server stores at most 1 MiB per object)."""
ARCHIVE_NAME = "code.zip"
"""The code archive's file name in a SageMaker step's input folder."""

_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def _kept(part: str) -> bool:
    return not part.startswith(".") and part not in _SKIPPED_DIRS


def code_files(root: Path) -> list[tuple[str, Path]]:
    """Every file of the code under ``root``: (POSIX path relative to ``root``, path on disk), sorted by the former."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if _kept(d))
        for name in files:
            if not _kept(name) or name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(folder) / name
            if path.is_file():
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def content_hash(entries: list[tuple[str, bytes]]) -> str:
    """``sha256:<hex>`` over each file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for relative, content in sorted(entries):
        name = relative.encode()
        digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big"))
        digest.update(content)
    return "sha256:" + digest.hexdigest()


def code_hash(root: Path) -> str:
    """The content hash of the code under ``root``."""
    return content_hash([(relative, path.read_bytes()) for relative, path in code_files(root)])


def code_size(root: Path) -> int:
    """The bytes of every file of the code under ``root``."""
    return sum(path.stat().st_size for _, path in code_files(root))


def top_level_modules(relatives: list[str]) -> dict[str, str]:
    """The importable names a code folder adds, each with the file or folder that makes it (``pkg`` -> ``pkg/``)."""
    names: dict[str, str] = {}
    for relative in relatives:
        head, _, rest = relative.partition("/")
        if not rest and head.endswith(".py"):
            names.setdefault(head[:-3], head)
        elif rest and rest.rpartition("/")[2].endswith(".py") and head.isidentifier():
            names.setdefault(head, head + "/")
    return {name: origin for name, origin in names.items() if name.isidentifier()}


__all__ = [
    "ARCHIVE_NAME",
    "CODE_DIR_ENV",
    "CONFIG_MAP_BUDGET",
    "KUBERNETES_CODE_DIR",
    "code_files",
    "code_hash",
    "code_size",
    "content_hash",
    "top_level_modules",
]
