"""Shared fixtures: the project, and runs of Pulumi programs under the SDK's mocks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_dsl.pulumi_mocks import MockRun, run_stack, run_under_mocks
from mlops_dsl.stack import Project, find_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project() -> Project:
    """This repository's Pulumi project."""
    return find_project(ROOT)


@pytest.fixture
def mock_stack(project: Project) -> Callable[..., MockRun]:
    """Run ``__main__.py`` for a stack under Pulumi mocks (a fresh event loop each call)."""

    def run(stack: str, **kwargs: Any) -> MockRun:
        return run_stack(project, stack, **kwargs)

    return run


@pytest.fixture
def mock_program() -> Callable[..., MockRun]:
    """Run any function that declares Pulumi resources under mocks (a fresh event loop each call)."""

    def run(program: Callable[[], None], stack: str = "test", **kwargs: Any) -> MockRun:
        return run_under_mocks(program, project="mlops", stack=stack, **kwargs)

    return run
