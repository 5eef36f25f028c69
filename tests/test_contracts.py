"""The settings the AWS components hand to the Lambda functions are the shapes :mod:`mlops_dsl.contracts.aws` declares.

mypy checks each side against the TypedDicts; these tests check what the churn-prod
stack actually renders under mocks: every key of the functions' JSON settings is one
the TypedDict declares, every required key is there, and every value has the declared type.
"""

from __future__ import annotations

import importlib
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from components.aws import AwsPlatform, AwsPlatformArgs
from mlops_dsl.contracts import aws as contract
from mlops_dsl.contracts.aws import (
    BATCH_CONFIG_ENV,
    DEPLOY_CONFIG_ENV,
    TRIGGER_CONFIG_ENV,
    BatchConfig,
    DeployConfig,
    DeploySettings,
    TriggerConfig,
)
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.loading.stack import find_project, load_stack
from mlops_dsl.review.mocks import MockRun, RecordedResource, reveal, run_stack
from mlops_dsl.spec.environment import AwsVpc
from tests.conftest import STAND_IN_SECRETS

PROJECT = find_project(Path(__file__).resolve().parents[1])
STACK = "churn-prod"
SHAPES: dict[str, Any] = {DEPLOY_CONFIG_ENV: DeployConfig, BATCH_CONFIG_ENV: BatchConfig, TRIGGER_CONFIG_ENV: TriggerConfig}
"""Each JSON settings variable and the TypedDict it must be."""


def mismatches(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Where ``value`` (parsed JSON) departs from the type ``shape``: unknown or missing keys, wrong types."""
    if is_typeddict(shape):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object ({shape.__name__})"]
        fields = get_type_hints(shape)
        found = [f"{path}.{key}: not a key of {shape.__name__}" for key in value if key not in fields]
        found += [f"{path}.{key}: missing (required by {shape.__name__})" for key in sorted(shape.__required_keys__ - set(value))]
        return found + [problem for key in value if key in fields for problem in mismatches(value[key], fields[key], f"{path}.{key}")]
    origin = get_origin(shape)
    if origin in (Union, types.UnionType):
        alternatives = [mismatches(value, alternative, path) for alternative in get_args(shape)]
        return [] if any(not found for found in alternatives) else min(alternatives, key=len)
    if origin is Literal:
        return [] if value in get_args(shape) else [f"{path}: {value!r} is not one of {get_args(shape)}"]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        key_type, item_type = get_args(shape)
        return [
            problem
            for key, item in value.items()
            for problem in mismatches(key, key_type, path) + mismatches(item, item_type, f"{path}.{key}")
        ]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        return [problem for index, item in enumerate(value) for problem in mismatches(item, get_args(shape)[0], f"{path}[{index}]")]
    if shape is type(None):
        return [] if value is None else [f"{path}: {value!r} is not null"]
    allowed = (int, float) if shape is float else (shape,)  # a float field may hold an integer
    if isinstance(value, allowed) and not (isinstance(value, bool) and shape is not bool):
        return []
    return [f"{path}: {value!r} is not a {shape.__name__}"]


def variables(resource: RecordedResource) -> dict[str, str]:
    """A function's environment variables, secrets revealed."""
    environment = reveal(resource.inputs).get("environment") or {}
    return dict(environment.get("variables") or {})


def settings(run: MockRun, name: str) -> Any:
    """The parsed JSON of the one function variable called ``name``."""
    [found] = [json.loads(v[name]) for v in map(variables, run.of_type("aws:lambda/function:Function")) if name in v]
    return found


@pytest.fixture(scope="module")
def run() -> MockRun:
    return run_stack(PROJECT, STACK, secrets=STAND_IN_SECRETS)


def with_vpc(spec: ResolvedSpec) -> ResolvedSpec:
    """The same spec, with its AWS target in a VPC."""
    environment = spec.settings
    vpc = AwsVpc(subnet_ids=["subnet-0123abcd"], security_group_ids=["sg-0123abcd"])
    target = environment.target.model_copy(update={"vpc": vpc})
    environments = {**spec.platform.environments, spec.environment: environment.model_copy(update={"target": target})}
    return ResolvedSpec(spec.source, spec.environment, spec.platform.model_copy(update={"environments": environments}))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_function_setting_is_the_shape_the_contract_declares(name: str, run: MockRun) -> None:
    value = settings(run, name)
    assert value, f"{name} is empty"
    assert mismatches(value, SHAPES[name]) == []


def test_the_rendered_settings_use_the_optional_parts_too(run: MockRun) -> None:
    """The churn-prod model has a canary and a quality monitor, and new data counted by rows: the nested shapes are checked."""
    [deploy] = settings(run, DEPLOY_CONFIG_ENV)["groups"].values()
    assert deploy["canary"] is not None and deploy["quality"] is not None
    trigger = settings(run, TRIGGER_CONFIG_ENV)
    assert trigger["sources"] and trigger["alarms"] and any(m["min_new_rows"] for m in trigger["models"].values())


def test_vpc_settings_are_the_declared_optional_key(mock_program: Callable[..., MockRun]) -> None:
    assert "vpc" in DeploySettings.__optional_keys__  # NotRequired is seen at run time (no string annotations in the contract)
    spec = with_vpc(load_stack(PROJECT, STACK))
    vpc_run = mock_program(lambda: AwsPlatform("p", AwsPlatformArgs(spec, secrets=STAND_IN_SECRETS)))
    config = settings(vpc_run, DEPLOY_CONFIG_ENV)
    assert mismatches(config, DeployConfig) == []
    [deploy] = config["groups"].values()
    assert deploy["vpc"] == {"Subnets": ["subnet-0123abcd"], "SecurityGroupIds": ["sg-0123abcd"]}


def test_the_check_finds_unknown_missing_and_mistyped_keys(run: MockRun) -> None:
    config = settings(run, DEPLOY_CONFIG_ENV)
    [group] = config["groups"]
    deploy = config["groups"][group]
    deploy["instance_typ"] = deploy.pop("instance_type")  # a key renamed on one side
    deploy["capture"]["extra"] = True
    deploy["autoscaling"]["metric"] = "memory"
    deploy["canary"] = {"percent": 10}
    deploy["initial_instance_count"] = True
    at = f"$.groups.{group}"
    assert sorted(mismatches(config, DeployConfig)) == sorted(
        [
            f"{at}.instance_typ: not a key of DeploySettings",
            f"{at}.instance_type: missing (required by DeploySettings)",
            f"{at}.capture.extra: not a key of CaptureSettings",
            f"{at}.autoscaling.metric: 'memory' is not one of ('cpu', 'requests_per_second')",
            f"{at}.canary.bake_seconds: missing (required by CanarySettings)",
            f"{at}.initial_instance_count: True is not a int",
        ]
    )
    trigger = settings(run, TRIGGER_CONFIG_ENV)
    del trigger["sources"][0]["bucket"]
    assert mismatches(trigger, TriggerConfig) == ["$.sources[0].bucket: missing (required by TriggerSource)"]


def test_the_functions_read_only_the_variables_the_contract_names(run: MockRun) -> None:
    names = {value for key, value in vars(contract).items() if key.endswith("_ENV")}
    used = {name for resource in run.of_type("aws:lambda/function:Function") for name in variables(resource)}
    assert used and used <= names
    jobs = run.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    assert jobs and all(contract.MONITOR_FEATURES_ENV in reveal(j.inputs)["dataQualityAppSpecification"]["environment"] for j in jobs)


def test_the_record_preprocessor_reads_the_contracts_feature_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """It runs alone in Model Monitor's container, so it spells the name itself."""
    from mlops_dsl.aws import record_preprocessor

    monkeypatch.setenv(contract.MONITOR_FEATURES_ENV, '["tenure", "plan"]')
    try:
        assert importlib.reload(record_preprocessor).FEATURES == ["tenure", "plan"]
    finally:
        monkeypatch.undo()
        importlib.reload(record_preprocessor)


def test_pipelines_declare_the_parameters_the_trigger_starts_them_with(run: MockRun) -> None:
    for pipeline in run.of_type("aws:sagemaker/pipeline:Pipeline"):
        definition = json.loads(reveal(pipeline.inputs)["pipelineDefinition"])
        declared = [p["Name"] for p in definition["Parameters"]]
        assert declared == [contract.TRIGGER_REASON_PARAMETER, contract.RUN_ID_PARAMETER]
