"""Every Pulumi component's type token is pinned here.

A token is part of each child resource's URN: renaming one makes Pulumi replace
every live resource under it, so a rename must be a deliberate change to this
table. A new component fails the first test until it has an entry.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import pulumi
import pytest

import components
from mlops_dsl.loading.stack import load_stack
from tests.conftest import PROJECT, StackRuns

TOKENS = {
    "components.aws.feature_store.FeatureStore": "mlops:aws:FeatureStore",
    "components.aws.monitoring.Monitoring": "mlops:aws:Monitoring",
    "components.aws.platform.AwsPlatform": "mlops:aws:Platform",
    "components.aws.registry.ModelRegistry": "mlops:aws:ModelRegistry",
    "components.aws.retraining.RetrainingTrigger": "mlops:aws:RetrainingTrigger",
    "components.aws.serving.ModelServing": "mlops:aws:ModelServing",
    "components.aws.storage.Storage": "mlops:aws:Storage",
    "components.aws.training.TrainingPipeline": "mlops:aws:TrainingPipeline",
    "components.kubernetes.feature_store.FeatureStore": "mlops:kubernetes:FeatureStore",
    "components.kubernetes.foundation.Foundation": "mlops:kubernetes:Foundation",
    "components.kubernetes.monitoring.Monitoring": "mlops:kubernetes:Monitoring",
    "components.kubernetes.platform.KubernetesPlatform": "mlops:kubernetes:Platform",
    "components.kubernetes.registry.ModelRegistry": "mlops:kubernetes:ModelRegistry",
    "components.kubernetes.retraining.RetrainingWebhook": "mlops:kubernetes:RetrainingWebhook",
    "components.kubernetes.serving.ModelServing": "mlops:kubernetes:ModelServing",
    "components.kubernetes.training.Training": "mlops:kubernetes:Training",
}
"""Each component class (by its import path) and the token it registers as."""


def component_classes() -> dict[str, type]:
    """Every ComponentResource subclass defined in the components package."""
    for module in pkgutil.walk_packages(components.__path__, "components."):
        importlib.import_module(module.name)
    found: dict[str, type] = {}
    pending = list(pulumi.ComponentResource.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("components."):
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def declared_token(cls: type) -> str:
    """The token a component passes to ``super().__init__`` (read from its source, not by building it)."""
    tree = ast.parse(inspect.getsource(cls))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
            and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "super"
        ):
            first = node.args[0]
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), f"{cls.__name__}'s token is not a literal"
            return first.value
    raise AssertionError(f"{cls.__name__} never calls super().__init__ with a type token")


def test_every_component_class_has_a_pinned_token() -> None:
    classes = component_classes()
    assert sorted(classes) == sorted(TOKENS), "add new components to TOKENS (and remove deleted ones) deliberately"


@pytest.mark.parametrize("path", sorted(TOKENS))
def test_each_component_registers_its_pinned_token(path: str) -> None:
    assert declared_token(component_classes()[path]) == TOKENS[path]


@pytest.fixture(scope="module")
def stack_runs() -> StackRuns:
    return StackRuns(PROJECT.stack_names())


@pytest.mark.parametrize("stack", PROJECT.stack_names())
def test_each_stack_builds_only_pinned_component_tokens_of_its_target(stack: str, stack_runs: StackRuns) -> None:
    built = {r.type for r in stack_runs[stack].resources if r.type.startswith("mlops:")}
    assert built <= set(TOKENS.values()), sorted(built - set(TOKENS.values()))
    assert {token.split(":")[1] for token in built} == {load_stack(PROJECT, stack).target.kind}
