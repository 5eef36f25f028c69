"""Shared fixtures: the project, its stacks by target, and runs of Pulumi programs under the SDK's mocks.

A stack that does not load is listed under every target, so each test of it fails
on its own (with the stack's problems) instead of breaking a whole module's collection.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from mlops_dsl.loading.stack import Project, find_project, load_stack
from mlops_dsl.review.mocks import MockRun, run_stack, run_under_mocks
from mlops_dsl.spec.problems import SpecError

ROOT = Path(__file__).resolve().parents[1]

# What `pulumi config set --secret` would hold; the stack files keep none (no CLI here to encrypt them).
STAND_IN_SECRETS = {
    "retrainWebhookToken": "stand-in-token-7f3a",
    "slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/stand-in",
    "registryDatabasePassword": "stand-in-db-password",
    "pagerdutyFraudKey": "stand-in-routing-key",
    "marketingWebhookUrl": "https://marketing.example.com/stand-in",
}


# Property-based tests (tests/test_generated_specs.py): CI runs "ci", the default (a fixed seed and a bounded number
# of examples); `pytest --hypothesis-profile long` explores further. Registered here, before pytest reads the option.
_SLOW_EXAMPLES = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=40, derandomize=True, database=None, deadline=None, suppress_health_check=_SLOW_EXAMPLES)
settings.register_profile("long", max_examples=600, deadline=None, suppress_health_check=_SLOW_EXAMPLES)
settings.load_profile("ci")

PROJECT = find_project(ROOT)
BROKEN = "broken"


@functools.cache
def _targets() -> dict[str, str]:
    """Each stack's target kind, or :data:`BROKEN` where the stack does not load."""
    kinds: dict[str, str] = {}
    for stack in PROJECT.stack_names():
        try:
            kinds[stack] = load_stack(PROJECT, stack).target.kind
        except SpecError:
            kinds[stack] = BROKEN
    return kinds


def stacks_of(target: str) -> list[str]:
    """The stacks that deploy to ``target`` (plus any that do not load, so their tests fail one by one)."""
    return [stack for stack, kind in _targets().items() if kind in (target, BROKEN)]


class StackRuns(Mapping[str, MockRun]):
    """Each stack's program run under mocks, made on first use and kept: a broken stack fails only its own tests."""

    def __init__(self, stacks: list[str], secrets: dict[str, str] | None = None) -> None:
        self.stacks = stacks
        self.secrets = STAND_IN_SECRETS if secrets is None else secrets
        self._runs: dict[str, MockRun] = {}

    def __getitem__(self, stack: str) -> MockRun:
        if stack not in self.stacks:
            raise KeyError(stack)
        if stack not in self._runs:
            self._runs[stack] = run_stack(PROJECT, stack, secrets=self.secrets)
        return self._runs[stack]

    def __iter__(self) -> Iterator[str]:
        return iter(self.stacks)

    def __len__(self) -> int:
        return len(self.stacks)


@pytest.fixture(scope="session")
def project() -> Project:
    """This repository's Pulumi project."""
    return find_project(ROOT)


@pytest.fixture
def scratch_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's layout with the churn spec (spec/platform.py) and no stacks yet, as the working directory."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "spec").mkdir()
    shutil.copy(ROOT / "examples/churn/platform.py", tmp_path / "spec/platform.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mock_stack(project: Project) -> Callable[..., MockRun]:
    """Run ``__main__.py`` for a stack under Pulumi mocks (a fresh event loop each call)."""

    def run(stack: str, **kwargs: Any) -> MockRun:
        kwargs.setdefault("secrets", STAND_IN_SECRETS)
        return run_stack(project, stack, **kwargs)

    return run


@pytest.fixture
def mock_program() -> Callable[..., MockRun]:
    """Run any function that declares Pulumi resources under mocks (a fresh event loop each call)."""

    def run(program: Callable[[], None], stack: str = "test", **kwargs: Any) -> MockRun:
        return run_under_mocks(program, project="mlops", stack=stack, **kwargs)

    return run


# --- trained state for the runtime tests -------------------------------------------


@pytest.fixture(scope="session")
def churn_local() -> Any:
    """The churn example resolved for its local environment."""
    from mlops_dsl.loading.loader import load_platform

    return load_platform(ROOT / "examples/churn/platform.py", environment="local")["local"]


@pytest.fixture(scope="session")
def trained_state(tmp_path_factory: pytest.TempPathFactory, churn_local: Any) -> Path:
    """A state directory with churn data, a Feast repo and version 1 of churn in production.

    Trained once per session by the real trainer; tests that change state copy it.
    """
    from mlops_dsl.runtime.features import local_store
    from mlops_dsl.runtime.registry import ModelRegistry
    from mlops_dsl.runtime.state import StatePaths
    from mlops_dsl.runtime.trainer import train
    from tests.helpers.churn import data_module

    paths = StatePaths(tmp_path_factory.mktemp("churn-state"))
    data_module().generate(paths.data_root, customers=3000, snapshots=3, seed=1)
    store = local_store(churn_local.platform.feature_store, paths.feature_repo, paths.data_root)
    result = train(
        churn_local,
        "churn",
        registry=ModelRegistry(paths.registry_uri()),
        store=store,
        data_root=paths.data_root,
        trigger_reason="initial training",
        run_id="initial",
    )
    assert result.outcome == "promoted", result
    return paths.root


# --- an AWS API emulator for the functions' tests ----------------------------------------


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on loopback, one per test module (each module's resources stay its own)."""
    from tests.helpers.moto import moto_server

    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url
