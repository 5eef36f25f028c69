"""The team's code at run time: find it where the target put it, import from it, describe it for lineage.

``Platform(code="src")`` names a folder of the team's own modules. Each target
puts a copy where its processes see it and says where in ``MLOPS_CODE_DIR``:
the local target a snapshot in the state directory, Kubernetes a ConfigMap
mounted at ``/opt/mlops/code``, a SageMaker step a ``code.zip`` among its
inputs (unpacked here). Every runtime service that loads the spec makes that
folder importable, the same way in every target and whatever the working
directory: appended to ``sys.path``, so the team's modules can never shadow
the standard library or the runtime's own packages (``mlops validate`` refuses
a module name that would be shadowed instead).

A registered version carries a copy of the code it was trained with (see
:mod:`mlops_dsl.runtime.registry`); :func:`isolated` imports such a copy
without disturbing the modules already imported from another copy, so a
server can hold two versions trained with different code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlops_dsl.contracts.code import CODE_DIR_ENV, code_files, code_hash, top_level_modules
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed


@dataclass(frozen=True)
class CodeLineage:
    """What a version records about the team's code: its content hash, and its commit where git vouches for it."""

    hash: str
    commit: str | None = None


def cached_folder(name: str, fill: Callable[[Path], Path]) -> Path:
    """A folder of the code cache (in the temporary directory), made once: ``fill(scratch)`` makes it, returning where.

    Filled in a scratch folder and renamed into place, so a process never sees half of one; when another
    process made it meanwhile, its copy stays.
    """
    root = Path(tempfile.gettempdir()) / "mlops-code"
    folder = root / name
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="partial-", dir=root))
    try:
        with contextlib.suppress(OSError):  # OSError: made meanwhile by another process
            fill(scratch).rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def unpack(archive: Path) -> Path:
    """A zip archive of the code, unpacked once into a cache folder named by the archive's content."""

    def extract(scratch: Path) -> Path:
        try:
            bundle = zipfile.ZipFile(archive)
        except zipfile.BadZipFile as error:
            raise SpecError([Problem(CODE_DIR_ENV, got_allowed(str(archive), "a zip of the code", str(error)))]) from None
        with bundle:
            for member in bundle.infolist():
                if not (scratch / member.filename).resolve().is_relative_to(scratch.resolve()):
                    leaves = f"{member.filename!r} leaves it"
                    raise SpecError([Problem(CODE_DIR_ENV, got_allowed(str(archive), "a zip of the code", leaves))])
            bundle.extractall(scratch)
        return scratch

    return cached_folder(f"archive-{hashlib.sha256(archive.read_bytes()).hexdigest()[:16]}", extract)


def code_from_environment() -> Path | None:
    """The code folder ``MLOPS_CODE_DIR`` names (a ``.zip`` unpacked), or None when it is unset."""
    given = os.environ.get(CODE_DIR_ENV)
    if not given:
        return None
    path = Path(given)
    if path.is_file() and path.suffix == ".zip":
        return unpack(path)
    if path.is_dir():
        return path.resolve()
    raise SpecError([Problem(CODE_DIR_ENV, got_allowed(given, "the folder of the team's code, or a .zip of it", "not there"))])


def deployed_code(spec: ResolvedSpec) -> Path | None:
    """The folder of the team's code for this process, or None when the platform names none.

    ``MLOPS_CODE_DIR`` first (what the targets set); else the folder beside the spec file, when a service
    was started by hand on a spec file. Refused in one line when the platform names code this process cannot see.
    """
    if spec.platform.code is None:
        return None
    given = code_from_environment()
    if given is not None:
        return given
    if spec.code_dir is not None and spec.code_dir.is_dir():
        return spec.code_dir
    where = f"the spec's folder {spec.code_dir}" if spec.code_dir is not None else f"{CODE_DIR_ENV} (unset)"
    message = got_allowed(spec.platform.code, f"the team's code, in {CODE_DIR_ENV} or beside the spec file", f"not found in {where}")
    raise SpecError([Problem("code", message, source=str(spec.source))])


def activate(folder: Path | None) -> None:
    """Make the team's code importable in this process (appended to ``sys.path``, once)."""
    if folder is None:
        return
    entry = str(folder)
    if entry not in sys.path:
        sys.path.append(entry)


def _names(folder: Path) -> set[str]:
    return set(top_level_modules([relative for relative, _ in code_files(folder)]))


def _belongs(module: str, names: set[str]) -> bool:
    return module.partition(".")[0] in names


@contextlib.contextmanager
def isolated(folder: Path) -> Iterator[None]:
    """Import from ``folder`` first while the block runs, then put back the modules of those names as they were.

    What the block built keeps its own module objects (a function or class refers to its module), so a
    version loaded here keeps working after the block, next to versions loaded from other copies.
    """
    names = _names(folder)
    saved = {name: module for name, module in sys.modules.items() if _belongs(name, names)}
    for name in saved:
        del sys.modules[name]
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
        for name in [name for name in sys.modules if _belongs(name, names)]:
            del sys.modules[name]
        sys.modules.update(saved)


def git_commit(folder: Path) -> str | None:
    """The commit of the git repository holding ``folder``, only if every file of the code is tracked and unchanged.

    An untracked, modified or staged file of the code gives None: a folder that merely lies inside some
    repository (a home directory under version control, say) gets no commit. Files that are not part of
    the code (``__pycache__``, hidden ones) do not count, as they do not count in its hash.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--verify", "HEAD")
    tracked = git("ls-files", "--", ".")  # paths relative to the folder
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    if not commit or not tracked or changed is None or changed:
        return None
    files = {relative for relative, _ in code_files(folder)}
    if not files <= set(tracked.splitlines()):
        return None
    return f"git:{commit[:12]}"


COMMIT_FILE = ".mlops-commit"
"""Beside a snapshot's files, the commit :func:`git_commit` found at the source (hidden: not part of the hash)."""


def describe(folder: Path | None) -> CodeLineage | None:
    """The lineage of the code in ``folder``: its hash, and the commit the snapshot was taken at, if git vouched for it."""
    if folder is None:
        return None
    marker = folder / COMMIT_FILE
    commit = marker.read_text().strip() if marker.is_file() else None
    return CodeLineage(code_hash(folder), commit or None)


def snapshot(source: Path, into: Path, commit: str | None = None) -> str:
    """Copy the code's files from ``source`` into ``into`` (replaced whole), noting ``commit``; returns the code hash."""
    partial = into.with_name(into.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for relative, path in code_files(source):
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    partial.mkdir(parents=True, exist_ok=True)
    if commit:
        (partial / COMMIT_FILE).write_text(commit + "\n")
    previous = into.with_name(into.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if into.exists():
        into.rename(previous)
    partial.rename(into)
    shutil.rmtree(previous, ignore_errors=True)
    return code_hash(into)
