"""The SageMaker Pipeline definitions the AWS target writes, held byte for byte to the ones the sagemaker SDK builds."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.aws.pipeline_definition import build
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.spec import Gate
from tests.helpers import sagemaker_reference
from tests.helpers.aws_api import pipeline_definition_errors
from tests.helpers.pipelines import churn_prod, inputs_for
from tests.helpers.sagemaker_reference import variant

ROOT = Path(__file__).resolve().parents[1]


def retail(region: str) -> ResolvedSpec:
    """The retail example's prod environment, moved from Kubernetes to AWS (its three models: recall, rmse, batch)."""
    return variant(load_platform(ROOT / "examples/retail/platform.py", environment="prod")["prod"], region=region)


def labels_at_a_full_uri(spec: ResolvedSpec) -> ResolvedSpec:
    store = spec.platform.feature_store
    sources = [s.model_copy(update={"path": "s3://another-bucket/labels/churn"}) if s.name == "churn_labels" else s for s in store.sources]
    store = store.model_copy(update={"sources": sources})
    return dataclasses.replace(spec, platform=spec.platform.model_copy(update={"feature_store": store}))


def without_gate(spec: ResolvedSpec) -> ResolvedSpec:
    model = spec.platform.model("churn")
    return variant(
        spec,
        "churn",
        training=model.training.model_copy(update={"gate": None}),
        registry=model.registry.model_copy(update={"approval": "automatic"}),
        serving=model.serving.model_copy(update={"batch": None}),
        description=None,
    )


def lower_is_better(spec: ResolvedSpec) -> ResolvedSpec:
    model = spec.platform.model("churn")
    return variant(spec, "churn", training=model.training.model_copy(update={"gate": Gate(metric="log_loss", threshold=0.45)}))


CASES: dict[str, Any] = {
    "churn-prod": churn_prod,
    "churn in a VPC": lambda: variant(churn_prod(), vpc=True),
    "churn without a gate, approval automatic, no batch, no description": lambda: without_gate(churn_prod()),
    "churn gated on a lower-is-better metric": lambda: lower_is_better(churn_prod()),
    "churn with labels at a full S3 URI": lambda: labels_at_a_full_uri(churn_prod()),
    "retail on AWS in us-east-1": lambda: retail("us-east-1"),
    "retail on AWS in cn-north-1, in a VPC": lambda: variant(retail("cn-north-1"), vpc=True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_definition_is_the_one_the_sagemaker_sdk_builds(case: str) -> None:
    spec = CASES[case]()
    for model in spec.platform.models:
        given = inputs_for(spec, model.name)
        ours = build(spec, model.name, given)
        assert ours == sagemaker_reference.build(spec, model.name, given), f"{case}: {model.name}"


def sagemaker_model() -> Any:
    """A client used only for botocore's SageMaker API model; it makes no calls."""
    return boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t")


@pytest.mark.parametrize("case", list(CASES))
def test_every_step_is_a_valid_aws_api_request_and_every_reference_resolves(case: str) -> None:
    # A second check, independent of the SDK: each step against botocore's SageMaker model, and the
    # steps, parameters and property files that run-time expressions name.
    spec = CASES[case]()
    for model in spec.platform.models:
        assert pipeline_definition_errors(sagemaker_model(), build(spec, model.name, inputs_for(spec, model.name))) == []


def test_the_api_check_finds_what_sagemaker_would_refuse() -> None:
    spec = churn_prod()
    good = json.loads(build(spec, "churn", inputs_for(spec, "churn")))
    prepare, train = good["Steps"][:2]

    def errors_after(change: Any) -> list[str]:
        definition = json.loads(json.dumps(good))
        change(definition)
        return pipeline_definition_errors(sagemaker_model(), json.dumps(definition))

    typo = errors_after(lambda d: d["Steps"][1]["Arguments"].update(OutputDataConfg=train["Arguments"]["OutputDataConfig"]))
    assert len(typo) == 1 and "Steps.Train" in typo[0] and "OutputDataConfg" in typo[0]
    missing = errors_after(lambda d: d["Steps"][0]["Arguments"].pop("RoleArn"))
    assert len(missing) == 1 and "Steps.Prepare" in missing[0] and "RoleArn" in missing[0]
    approval = errors_after(lambda d: d["Steps"][4]["Arguments"]["IfSteps"][0]["Arguments"].update(ModelApprovalStatus="Pending"))
    assert approval == [
        "Steps.Register-RegisterModel.Arguments.ModelApprovalStatus: 'Pending' is not one of "
        "['Approved', 'PendingManualApproval', 'Rejected']"
    ]
    dangling = errors_after(
        lambda d: d["Steps"][4]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"].update(
            Get="Steps.Evaluate.PropertyFiles.Metrics"
        )
    )
    assert dangling == ["Steps.Gate: Steps.Evaluate.PropertyFiles.Metrics names no property file of Evaluate"]
    undeclared = errors_after(lambda d: d["Parameters"].pop())
    assert undeclared == ["Steps.Register-RegisterModel: Parameters.RunId names no declared parameter"]
    no_step = errors_after(lambda d: d["Steps"][2].update(DependsOn=["Training"]))
    assert no_step == ["Steps.Evaluate.DependsOn: no step 'Training'"]
    twice = errors_after(lambda d: d["Steps"].append(json.loads(json.dumps(prepare))))
    assert twice == ["step 'Prepare' is named twice"]
    assert errors_after(lambda d: d.update(Version="2021-01-01")) == ["Version: '2021-01-01' is not '2020-12-01'"]
    too_big = errors_after(lambda d: d["Steps"][2]["Arguments"]["Environment"].update(PADDING="x" * 1_048_576))
    assert len(too_big) == 1 and "CreatePipeline takes at most 1048576" in too_big[0]


def test_the_cases_cover_what_the_definition_varies_on() -> None:
    # Each case must change the definition, or it tests nothing the others do not.
    definitions = {}
    for case, make in CASES.items():
        spec = make()
        first = spec.platform.models[0].name
        definitions[case] = build(spec, first, inputs_for(spec, first))
    assert len(set(definitions.values())) == len(CASES)
    steps = {case: json.loads(d)["Steps"] for case, d in definitions.items()}
    assert "NetworkConfig" in steps["churn in a VPC"][0]["Arguments"] and "VpcConfig" in steps["churn in a VPC"][1]["Arguments"]
    conditions = steps["churn gated on a lower-is-better metric"][4]["Arguments"]["Conditions"]
    assert conditions[0]["Type"] == "LessThanOrEqualTo"
    monitor = steps["retail on AWS in cn-north-1, in a VPC"][3]["Arguments"]["AppSpecification"]["ImageUri"]
    assert monitor.endswith(".dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-model-monitor-analyzer")


def test_planning_an_aws_stack_makes_no_network_calls_and_does_not_import_the_sdk() -> None:
    # The SDK's import was over half of an AWS plan's time; the definitions no longer need it.
    script = """
import json, socket, sys
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
from mlops_dsl.review.mocks import run_stack
from mlops_dsl.loading.stack import find_project
from tests.conftest import STAND_IN_SECRETS
run = run_stack(find_project(), "churn-prod", secrets=STAND_IN_SECRETS)
[pipeline] = run.of_type("aws:sagemaker/pipeline:Pipeline")
print(json.dumps({"sdk": sorted(m for m in sys.modules if m.split(".")[0] in ("sagemaker", "sagemaker_core")), "pipelines": 1}))
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"sdk": [], "pipelines": 1}


def test_the_reference_builds_offline_and_each_definition_on_its_own() -> None:
    # The SDK's session is shared by every definition with the same region and bucket: a definition
    # must not carry anything from the ones built before it, or the comparisons above would drift.
    spec = churn_prod()
    churn_inputs = inputs_for(spec, "churn")
    other = dataclasses.replace(churn_inputs, role_arn="arn:aws:iam::123456789012:role/q", pipeline="other", group="other")
    first = sagemaker_reference.build(spec, "churn", churn_inputs)
    assert sagemaker_reference.build(spec, "churn", other) != first
    assert sagemaker_reference.build(spec, "churn", churn_inputs) == first
