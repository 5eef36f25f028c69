"""The Pulumi program (``__main__.py``) and its components, run under the SDK's mocks."""

from __future__ import annotations

import gc
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.aws import AwsPlatform, AwsPlatformArgs
from components.kubernetes import KubernetesPlatform, KubernetesPlatformArgs
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.loading.stack import Project, read_stack
from mlops_dsl.review.mocks import MockRun, OutstandingOutputs, RecordedResource, run_under_mocks

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name[7:-5] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
PLATFORM_TOKENS = {"kubernetes": "mlops:kubernetes:Platform", "aws": "mlops:aws:Platform"}


def ancestors(run: MockRun, resource: RecordedResource) -> list[str]:
    """The types of a resource's parents, nearest first (the stack itself is not recorded)."""
    chain = []
    parent = next((r for r in run.resources if r.urn == resource.parent), None)
    while parent is not None:
        chain.append(parent.type)
        parent = next((r for r in run.resources if r.urn == parent.parent), None)
    return chain


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_builds_one_platform_component_that_owns_every_resource(
    stack: str, mock_stack: Callable[..., MockRun], project: Project
) -> None:
    run = mock_stack(stack)
    platforms = [r for r in run.resources if r.type in PLATFORM_TOKENS.values()]
    assert len(platforms) == 1
    platform = platforms[0]
    assert platform.parent is not None and platform.parent.endswith(f"pulumi:pulumi:Stack::{project.name}-{stack}")
    others = [r for r in run.resources if r is not platform]
    assert others, "the platform component declared nothing"
    for resource in others:
        assert platform.type in ancestors(run, resource), f"{resource.type} {resource.name} is not inside the platform component"
    assert run.outputs["target"] in PLATFORM_TOKENS
    assert PLATFORM_TOKENS[run.outputs["target"]] == platform.type
    assert run.outputs["environment"] == read_stack(project, stack).environment


def test_a_kubernetes_stack_gets_the_spec_namespace_and_cluster(mock_stack: Callable[..., MockRun]) -> None:
    run = mock_stack("churn-dev")
    namespace = run.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "churn-dev"
    assert namespace.inputs["metadata"]["labels"]["mlops.dev/stage"] == "dev"
    provider = run.one("pulumi:providers:kubernetes")
    # every Kubernetes object goes through the spec's cluster provider
    assert all(r.provider and r.provider.startswith(provider.urn) for r in run.resources if r.type.startswith("kubernetes:"))


def test_a_kubernetes_namespace_defaults_to_platform_and_environment(mock_program: Callable[..., MockRun]) -> None:
    spec = load_platform(ROOT / "examples/churn/platform.py", environment="dev")["dev"]
    # The same environment without its declared namespace.
    unnamed = spec.settings.model_copy(update={"target": spec.target.model_copy(update={"namespace": None})})
    defaulted = spec.platform.model_copy(update={"environments": {"dev": unnamed}})
    run = mock_program(
        lambda: KubernetesPlatform(
            "churn", KubernetesPlatformArgs(ResolvedSpec(spec.source, "dev", defaulted), secrets={"retrainWebhookToken": "t"})
        )
    )
    assert run.one("kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "churn-dev"


def test_a_missing_secret_stops_the_deployment_with_pulumis_instruction(mock_stack: Callable[..., MockRun]) -> None:
    with pytest.raises(Exception, match=r"pulumi config set --secret mlops:registryDatabasePassword"):
        mock_stack("churn-dev", secrets={"retrainWebhookToken": "t", "slackWebhookUrl": "u"})


def test_an_aws_stack_deploys_to_the_spec_region_with_an_encryption_key(mock_stack: Callable[..., MockRun]) -> None:
    run = mock_stack("churn-prod")
    provider = run.one("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1"
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.provider is not None and key.provider.startswith(provider.urn)


@pytest.mark.parametrize(
    ("component", "args", "environment", "token"),
    [
        (KubernetesPlatform, KubernetesPlatformArgs, "dev", "mlops:kubernetes:Platform"),
        (AwsPlatform, AwsPlatformArgs, "prod", "mlops:aws:Platform"),
    ],
)
def test_type_tokens_are_pinned(component: type, args: type, environment: str, token: str, mock_program: Callable[..., MockRun]) -> None:
    # Renaming a type token replaces live resources, so a rename must fail this test first.
    spec = load_platform(ROOT / "examples/churn/platform.py", environment=environment)[environment]
    from tests.conftest import STAND_IN_SECRETS

    run = mock_program(lambda: component("churn", args(spec, secrets=STAND_IN_SECRETS)))
    assert run.resources[0].type == token


def test_a_component_refuses_the_wrong_target(mock_program: Callable[..., MockRun]) -> None:
    spec = load_platform(ROOT / "examples/churn/platform.py", environment="prod")["prod"]
    with pytest.raises(TypeError, match="needs a kubernetes environment, got 'aws'"):
        mock_program(lambda: KubernetesPlatform("churn", KubernetesPlatformArgs(spec, secrets={})))


def run_main(config: dict[str, Any]) -> MockRun:
    """Run ``__main__.py`` under mocks with the given stack config (plus stand-in secrets)."""
    from tests.conftest import STAND_IN_SECRETS

    config = {**{f"mlops:{k}": v for k, v in STAND_IN_SECRETS.items()}, **config}

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return run_under_mocks(program, project="mlops", stack="test", config=config)


def test_an_invalid_spec_stops_the_program_with_its_problems() -> None:
    bad = ROOT / "tests/corpus/canary_percent_too_high.py"
    with pytest.raises(pulumi.RunError) as error:
        run_main({"mlops:spec": str(bad), "mlops:environment": "dev"})
    assert "models.churn.serving.canary.percent: got 150; allowed: 1 to 99" in str(error.value)


def test_a_local_environment_is_not_deployed_by_pulumi() -> None:
    with pytest.raises(pulumi.RunError, match="runs with `mlops up --env local`"):
        run_main({"mlops:spec": "examples/churn/platform.py", "mlops:environment": "local"})


def test_stack_config_overrides_reach_the_program() -> None:
    config: dict[str, Any] = {
        "mlops:spec": "examples/churn/platform.py",
        "mlops:environment": "staging",
        "mlops:overrides": {"name": "churn-blue"},
    }
    run = run_main(config)
    assert run.outputs["platform"] == "churn-blue"
    assert run.resources[0].name == "churn-blue"


def test_runs_do_not_leak_into_each_other(mock_stack: Callable[..., MockRun]) -> None:
    first = mock_stack("churn-dev")
    second = mock_stack("churn-dev")
    # Registration order varies with the event loop; the set of resources must not.
    assert sorted((r.type, r.name) for r in first.resources) == sorted((r.type, r.name) for r in second.resources)


def test_outstanding_outputs_answer_the_sdks_calls_like_its_deque() -> None:
    outstanding = OutstandingOutputs()
    first, second, third = object(), object(), object()
    for future in (first, second, third):
        outstanding.append(future)
    outstanding.remove(second)
    assert len(outstanding) == 2
    with pytest.raises(ValueError):  # the SDK catches exactly this when a future was already taken
        outstanding.remove(second)
    assert outstanding.popleft() is first  # first in, first out, as the SDK's wait for quiescence expects
    outstanding.append(first)
    assert [outstanding.popleft(), outstanding.popleft()] == [third, first]
    assert len(outstanding) == 0


def test_a_run_leaves_the_cycle_collector_as_it_found_it(mock_stack: Callable[..., MockRun]) -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    mock_stack("churn-dev")
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
