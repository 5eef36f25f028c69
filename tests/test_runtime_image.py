"""The runtime image's Dockerfile (no Docker engine here builds it; this checks what it says)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return [(i["instruction"], i["value"]) for i in parser.structure]


def test_the_image_installs_the_pinned_runtime_and_runs_mlops_as_non_root() -> None:
    steps = instructions()
    [base] = [value for kind, value in steps if kind == "FROM"]
    assert base.startswith("python:3.11")
    run = " ".join(value for kind, value in steps if kind == "RUN")
    assert "-c constraints.txt" in run and ".[runtime]" in run
    [user] = [value for kind, value in steps if kind == "USER"]
    assert user == "10001"  # the uid every pod runs as (runAsUser in the manifests)
    [entrypoint] = [value for kind, value in steps if kind == "ENTRYPOINT"]
    assert entrypoint == '["mlops"]'
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mlops"] == "mlops_dsl.cli.main:run"


def test_the_image_copies_everything_the_package_needs() -> None:
    copied = " ".join(value for kind, value in instructions() if kind == "COPY")
    for needed in ("pyproject.toml", "constraints.txt", "mlops_dsl", "components"):
        assert needed in copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_the_registry_driver_is_in_the_runtime_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("psycopg2") for requirement in extras["runtime"])
    assert "psycopg2-binary" in (ROOT / "constraints.txt").read_text()
