"""Shared fixtures: the project, and runs of Pulumi programs under the SDK's mocks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_dsl.loading.stack import Project, find_project
from mlops_dsl.review.mocks import MockRun, run_stack, run_under_mocks

ROOT = Path(__file__).resolve().parents[1]

# What `pulumi config set --secret` would hold; the stack files keep none (no CLI here to encrypt them).
STAND_IN_SECRETS = {
    "retrainWebhookToken": "stand-in-token-7f3a",
    "slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/stand-in",
    "registryDatabasePassword": "stand-in-db-password",
    "pagerdutyFraudKey": "stand-in-routing-key",
    "marketingWebhookUrl": "https://marketing.example.com/stand-in",
}


@pytest.fixture(scope="session")
def project() -> Project:
    """This repository's Pulumi project."""
    return find_project(ROOT)


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
