"""The team's code at run time: one file set and hash everywhere, imported the same way, described honestly.

What every target relies on (mlops_dsl/contracts/code.py, mlops_dsl/runtime/code.py): which files are the
code, its content hash, a zip of it unpacked, a version's copy imported without disturbing another's, the
git commit recorded only when git vouches for every file, and processes that never import from the
working directory.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlops_dsl.contracts.code import code_files, code_hash, content_hash, top_level_modules
from mlops_dsl.local.layout import python_command
from mlops_dsl.local.status import render
from mlops_dsl.runtime.code import describe, git_commit, isolated, snapshot, unpack
from mlops_dsl.runtime.services import local_trainer_command


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


CODE: dict[str, str | bytes] = {
    "teamlib/__init__.py": "",
    "teamlib/features.py": "SCALE = 2\n",
    "helpers.py": "def double(x):\n    return 2 * x\n",
    "weights.bin": b"\x00\xff\x10",
}


def test_the_code_is_every_file_but_hidden_ones_caches_and_bytecode(tmp_path: Path) -> None:
    write(
        tmp_path, {**CODE, ".git/config": "x", ".env": "SECRET=1", "teamlib/__pycache__/features.cpython-311.pyc": b"\0", "old.pyc": b"\0"}
    )
    assert [relative for relative, _ in code_files(tmp_path)] == ["helpers.py", "teamlib/__init__.py", "teamlib/features.py", "weights.bin"]
    assert top_level_modules([relative for relative, _ in code_files(tmp_path)]) == {"helpers": "helpers.py", "teamlib": "teamlib/"}


def test_the_hash_depends_on_names_and_contents_only(tmp_path: Path) -> None:
    one = write(tmp_path / "one", CODE)
    two = write(tmp_path / "elsewhere" / "two", CODE)
    assert code_hash(one) == code_hash(two) == content_hash([(k, v.encode() if isinstance(v, str) else v) for k, v in CODE.items()])
    (two / "helpers.py").write_text("def double(x):\n    return x + x\n")
    assert code_hash(one) != code_hash(two)
    (two / "helpers.py").write_text(str(CODE["helpers.py"]))
    (two / "helpers.py").rename(two / "helper.py")
    assert code_hash(one) != code_hash(two)


def test_a_zip_of_the_code_unpacks_to_the_same_hash(tmp_path: Path) -> None:
    folder = write(tmp_path / "src", CODE)
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for relative, path in code_files(folder):
            bundle.write(path, relative)
    unpacked = unpack(archive)
    assert code_hash(unpacked) == code_hash(folder)
    assert unpack(archive) == unpacked  # once per archive


def test_an_archive_that_escapes_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../outside.py", "x = 1\n")
    with pytest.raises(Exception, match="leaves it"):
        unpack(archive)
    assert not (tmp_path.parent / "outside.py").exists()


def test_an_archive_that_is_not_a_zip_is_one_line(tmp_path: Path) -> None:
    from mlops_dsl.spec.problems import SpecError

    archive = tmp_path / "code.zip"
    archive.write_bytes(b"not a zip at all")
    with pytest.raises(SpecError) as raised:
        unpack(archive)
    assert str(raised.value).count("\n") == 0 and "allowed: a zip of the code" in str(raised.value)


def test_a_snapshot_replaces_the_copy_whole_and_notes_the_commit(tmp_path: Path) -> None:
    source = write(tmp_path / "src", CODE)
    into = tmp_path / "state" / "code"
    write(into, {"stale.py": "gone = True\n"})
    digest = snapshot(source, into, "git:0123456789ab")
    assert digest == code_hash(source) == describe(into).hash  # type: ignore[union-attr]
    assert not (into / "stale.py").exists()
    assert describe(into).commit == "git:0123456789ab"  # type: ignore[union-attr]
    snapshot(source, into)
    assert describe(into).commit is None  # type: ignore[union-attr]
    assert describe(None) is None


def test_two_copies_of_one_module_are_imported_side_by_side(tmp_path: Path) -> None:
    name = "teamlib_" + tmp_path.name.replace("-", "_")
    old = write(tmp_path / "v1", {f"{name}/__init__.py": "VERSION = 1\ndef version():\n    return VERSION\n"})
    new = write(tmp_path / "v2", {f"{name}/__init__.py": "VERSION = 2\ndef version():\n    return VERSION\n"})
    with isolated(old):
        first = __import__(name).version
    assert name not in sys.modules and str(old) not in sys.path
    with isolated(new):
        second = __import__(name).version
    assert (first(), second()) == (1, 2)  # each keeps the module it was defined in
    sys.modules[name] = "deployed"  # type: ignore[assignment]
    try:
        with isolated(old):
            assert __import__(name).VERSION == 1
        assert sys.modules[name] == "deployed"  # what was imported before is put back
    finally:
        del sys.modules[name]


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / "src", CODE)
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "code")
    return repo


def test_a_clean_code_folder_gets_its_commit(repository: Path) -> None:
    commit = git_commit(repository / "src")
    assert commit is not None and commit.startswith("git:") and len(commit) == len("git:") + 12


@pytest.mark.parametrize(
    "change",
    [
        lambda src: (src / "helpers.py").write_text("changed = True\n"),  # modified
        lambda src: (src / "untracked.py").write_text("new = True\n"),  # untracked: the case of a folder inside someone's home repository
    ],
)
def test_a_folder_that_differs_from_its_commit_gets_none(repository: Path, change: object) -> None:
    change(repository / "src")  # type: ignore[operator]
    assert git_commit(repository / "src") is None


def test_bytecode_and_hidden_files_beside_the_code_do_not_count(repository: Path) -> None:
    # Not part of the code (nor of its hash): running the code makes __pycache__, ignored or not.
    (repository / ".gitignore").write_text("__pycache__/\n")
    git(repository, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".gitignore")
    git(repository, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "ignore")
    write(repository / "src", {"teamlib/__pycache__/features.cpython-311.pyc": b"\0", ".notes": "scratch\n"})
    assert git_commit(repository / "src") is not None


def test_a_staged_change_gets_none(repository: Path) -> None:
    (repository / "src" / "helpers.py").write_text("staged = True\n")
    git(repository, "add", "src/helpers.py")
    assert git_commit(repository / "src") is None


def test_a_folder_outside_any_repository_gets_none(tmp_path: Path) -> None:
    assert git_commit(write(tmp_path / "plain", CODE)) is None


def test_no_runtime_process_imports_from_its_working_directory(tmp_path: Path) -> None:
    # A spec named platform.py in the folder a user works in must not replace Python's platform module.
    assert python_command()[1:3] == ["-P", "-m"]
    assert local_trainer_command(tmp_path / "platform.json", "local", tmp_path)[1:3] == ["-P", "-m"]
    (tmp_path / "platform.py").write_text("raise SystemExit('the spec was imported as the platform module')\n")
    done = subprocess.run([*python_command(), "--help"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_status_shows_why_a_run_failed_in_one_line() -> None:
    run = {
        "id": "condition-20261201-1", "status": "failed", "outcome": "error", "version": None, "started_at": None,
        "reason": "alert condition-drift", "detail": "training function fleet_ml.training.fit raised KeyError: 'alpha'\ntraceback...",
    }  # fmt: skip
    status = {
        "platform": "fleet", "environment": "local", "state_dir": "/s", "alerts": [],
        "processes": {"model-server": {"running": False, "pid": None, "url": "http://127.0.0.1:1/v2"}},
        "models": {"condition": {"serving_version": None, "gate_metric": None, "versions": [], "retraining_runs": [run]}},
    }  # fmt: skip
    lines = render(status).splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("condition-20261201-1"))
    assert lines[at + 1].strip() == "why: training function fleet_ml.training.fit raised KeyError: 'alpha'"


def test_a_service_loads_the_resolved_json_with_the_code_its_target_put_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What every deployed process does: the spec is JSON (no folder beside it), the code is where MLOPS_CODE_DIR says.
    from mlops_dsl.contracts.code import CODE_DIR_ENV
    from mlops_dsl.loading.loader import load_platform, resolved_json
    from mlops_dsl.runtime.state import load_for_service
    from tests.helpers.own_model import write_project

    spec = load_platform(write_project(tmp_path / "project"), environment="local")["local"]
    for name in [name for name in sys.modules if name.partition(".")[0] == "fleet_ml"]:
        del sys.modules[name]  # imported from the project by the check above
    resolved = tmp_path / "state" / "platform.json"
    resolved.parent.mkdir()
    resolved.write_text(resolved_json(spec))
    snapshot(tmp_path / "project" / "src", tmp_path / "state" / "code")
    monkeypatch.chdir(tmp_path / "state")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv(CODE_DIR_ENV, raising=False)
    with pytest.raises(Exception, match="fleet_ml"):  # without it, the estimators cannot be found: one line says so
        load_for_service(str(resolved), "local")
    monkeypatch.setenv(CODE_DIR_ENV, str(tmp_path / "state" / "code"))
    loaded = load_for_service(str(resolved), "local")
    assert loaded.platform.code == "src"
    assert str(tmp_path / "state" / "code") == sys.path[-1]
    assert __import__("fleet_ml.models").models.__file__.startswith(str(tmp_path / "state" / "code"))
    for name in [name for name in sys.modules if name.partition(".")[0] == "fleet_ml"]:
        del sys.modules[name]


def test_a_module_beside_the_spec_named_like_the_standard_library_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlops_dsl.cli.main import main

    (tmp_path / "statistics.py").write_text("FEATURES = ['a']\n")
    spec = tmp_path / "platform.py"  # the spec itself may be called platform.py: it is loaded by its path
    spec.write_text("from statistics import FEATURES\n")
    assert main(["validate", str(spec)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(
        "platform.py: imports 'statistics', which is Python's standard library module, so statistics.py beside it "
        "is never the one imported; allowed: a module name of its own"
    )
