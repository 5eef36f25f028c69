"""`mlops plan`: the offline plan of a stack, deterministic, with unknowns and secrets marked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.review.mocks import Secret
from mlops_dsl.review.plan import KNOWN_AFTER_APPLY, SECRET, UNKNOWN_ACCOUNT, UNKNOWN_TOKEN, _Normalizer, stand_in
from tests.helpers.plans import ROOT, of_type, plan_of, plan_text, resource


@pytest.fixture(scope="module")
def aws_plan() -> dict[str, Any]:
    return plan_of("churn-prod")


@pytest.fixture(scope="module")
def kubernetes_plan() -> dict[str, Any]:
    return plan_of("retail-prod")


def test_two_runs_in_separate_processes_write_the_same_bytes(tmp_path: Path) -> None:
    outputs = []
    # From the project root and from a subdirectory: the plan does not depend on where it runs.
    for index, cwd in enumerate((ROOT, ROOT / "stacks")):
        out = tmp_path / f"plan-{index}.json"
        done = subprocess.run(
            [sys.executable, "-m", "mlops_dsl", "plan", "--stack", "churn-prod", "--out", str(out)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # this tree's code, whatever is installed
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    # ... and the same bytes as a run inside this process.
    assert outputs[0].decode() == plan_text("churn-prod")


def test_the_plan_names_the_stack_and_what_it_deploys(aws_plan: dict[str, Any]) -> None:
    assert {k: aws_plan[k] for k in ("stack", "platform", "environment", "stage", "target")} == {
        "stack": "churn-prod",
        "platform": "churn",
        "environment": "prod",
        "stage": "prod",
        "target": "aws",
    }
    assert aws_plan["outputs"]["endpoints"] == {"churn": "churn-prod-churn"}
    keys = [(r["type"], r["name"]) for r in aws_plan["resources"]]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))


def test_parents_and_providers_are_named_by_type_and_name_never_by_urn(aws_plan: dict[str, Any]) -> None:
    bucket = resource(aws_plan, "aws:s3/bucket:Bucket", "churn-storage-data")
    assert bucket["parent"] == "mlops:aws:Storage::churn-storage"
    assert bucket["provider"] == "pulumi:providers:aws::churn-region"
    encryption = resource(
        aws_plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "churn-storage-data-encryption"
    )
    assert "aws:s3/bucket:Bucket::churn-storage-data" in encryption["dependencies"]
    assert "urn:pulumi:" not in plan_text("churn-prod")


def test_values_only_a_deployment_knows_are_marked(aws_plan: dict[str, Any]) -> None:
    text = plan_text("churn-prod")
    assert UNKNOWN_TOKEN not in text and UNKNOWN_ACCOUNT not in text
    policy = resource(aws_plan, "aws:iam/rolePolicy:RolePolicy", "churn-churn-serving-endpoint-role-policy")
    assert policy["inputs"]["role"] == KNOWN_AFTER_APPLY  # the role's id
    document = json.loads(policy["inputs"]["policy"])
    # The bucket's name has a suffix AWS picks; the prefix is the program's.
    assert document["Statement"][0]["Resource"] == [f"arn:aws:s3:::churn-prod-artifacts-{KNOWN_AFTER_APPLY}/pipelines/churn/*"]
    topic_arns = resource(aws_plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "churn-monitoring-churn-churn-quality")["inputs"][
        "alarmActions"
    ]
    assert f"arn:aws:sns:eu-west-1:{KNOWN_AFTER_APPLY}:churn-prod-alerts-ml-oncall" in topic_arns
    # What the spec says stays as written, even when it looks like an account id.
    assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime" in text


def test_normalizer_keeps_a_declared_account_and_masks_secrets() -> None:
    declared = _Normalizer(ROOT, account_id="111122223333")
    assert declared({"arn": f"arn:aws:iam::111122223333:role/x-{UNKNOWN_TOKEN}", "n": 2.0, "s": Secret({"a": "b"})}) == {
        "arn": f"arn:aws:iam::111122223333:role/x-{KNOWN_AFTER_APPLY}",
        "n": 2,
        "s": SECRET,
    }
    undeclared = _Normalizer(ROOT, account_id=None)
    assert undeclared(f"arn:aws:logs:eu-west-1:{UNKNOWN_ACCOUNT}:log-group:x") == f"arn:aws:logs:eu-west-1:{KNOWN_AFTER_APPLY}:log-group:x"
    with pytest.raises(TypeError, match="no plan form"):
        undeclared(object())


def test_secrets_are_stood_in_for_and_shown_masked(kubernetes_plan: dict[str, Any], aws_plan: dict[str, Any]) -> None:
    assert kubernetes_plan["secrets"] == [
        "marketingWebhookUrl",
        "pagerdutyFraudKey",
        "registryDatabasePassword",
        "retrainWebhookToken",
        "slackWebhookUrl",
    ]
    secret = resource(kubernetes_plan, "kubernetes:core/v1:Secret", "retail-foundation-secrets")
    assert secret["inputs"]["stringData"] == SECRET
    forwarder = resource(aws_plan, "aws:lambda/function:Function", "churn-monitoring-ml-oncall-slack")
    assert forwarder["inputs"]["environment"] == SECRET
    for stack, plan in (("retail-prod", kubernetes_plan), ("churn-prod", aws_plan)):
        text = plan_text(stack)
        for name in plan["secrets"]:
            assert stand_in(name) not in text


def test_file_assets_are_named_by_project_path_and_hashed(aws_plan: dict[str, Any]) -> None:
    function = resource(aws_plan, "aws:lambda/function:Function", "churn-retraining-function")
    entry = function["inputs"]["code"]["archive"]["mlops_dsl/aws/trigger_function.py"]
    assert entry == {
        "file": "mlops_dsl/aws/trigger_function.py",
        "sha256": hashlib.sha256((ROOT / "mlops_dsl/aws/trigger_function.py").read_bytes()).hexdigest(),
    }


def test_kubernetes_artifacts(kubernetes_plan: dict[str, Any]) -> None:
    artifacts = kubernetes_plan["artifacts"]
    manifests = artifacts["kubernetes_manifests"]
    deployment = resource(kubernetes_plan, "kubernetes:apps/v1:Deployment", "retail-fraud-deployment")
    assert deployment["inputs"] in manifests
    assert len(manifests) == len([r for r in kubernetes_plan["resources"] if r["type"].startswith("kubernetes:") and r["custom"]])
    (rules,) = artifacts["prometheus_rules"]
    assert rules["namespace"] == "retail-ml"
    assert {g["name"] for g in rules["groups"]} == {"retail-fraud", "retail-ltv", "retail-promo-response"}
    (routing,) = artifacts["alertmanager_configs"]
    assert {r["name"] for r in routing["receivers"]} >= {"retraining-webhook", "ml-alerts", "fraud-pager", "marketing-webhook"}
    assert artifacts["platform_spec"]["name"] == "retail"
    assert artifacts["sagemaker_pipelines"] == {} and artifacts["cloudwatch_alarms"] == {}


def test_aws_artifacts(aws_plan: dict[str, Any]) -> None:
    artifacts = aws_plan["artifacts"]
    definition = artifacts["sagemaker_pipelines"]["churn-prod-churn"]
    assert [s["Name"] for s in definition["Steps"]] == ["Prepare", "Train", "Evaluate", "DataQualityBaseline", "Gate"]
    endpoint = artifacts["sagemaker_endpoints"]["churn-prod-churn"]
    assert endpoint["initial_instance_count"] == 2
    assert endpoint["capture"]["enabled"] is True
    assert endpoint["declared_by"] == "aws:lambda/function:Function::churn-registry-deploy"
    assert sorted(artifacts["cloudwatch_alarms"]) == [
        "churn-prod-churn-churn-error-rate",
        "churn-prod-churn-churn-feature-drift",
        "churn-prod-churn-churn-latency-p99",
        "churn-prod-churn-churn-prediction-drift",
        "churn-prod-churn-churn-quality",
    ]
    assert artifacts["kubernetes_manifests"] == []
    assert of_type(aws_plan, "aws:sagemaker/pipeline:Pipeline")[0]["inputs"]["pipelineName"] == "churn-prod-churn"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.splitlines()


def test_plan_without_out_prints_counts_and_the_policy_result(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli(["plan", "--stack", "churn-dev"], capsys)
    assert (code, err) == (0, [])
    plan = plan_of("churn-dev")
    deployments = len(of_type(plan, "kubernetes:apps/v1:Deployment"))
    assert out.startswith("Plan for stack churn-dev (churn, environment dev, stage dev, target kubernetes):")
    assert f"  {deployments:>4}  kubernetes:apps/v1:Deployment" in out.splitlines()
    assert "Policy: passed (3 of 8 rules apply to this stage)" in out


def test_plan_of_an_unknown_stack_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli(["plan", "--stack", "nope"], capsys)
    assert code == 2 and out == ""
    assert len(err) == 1 and "no such stack; got 'nope'" in err[0] and "'churn-prod'" in err[0]


def test_plan_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "missing-directory" / "plan.json"
    code, _, err = run_cli(["plan", "--stack", "churn-dev", "--out", str(target)], capsys)
    assert code == 2
    assert err == [f"{target}: cannot write the plan: No such file or directory"]


def test_string_assets_are_hashed_not_copied() -> None:
    normalize = _Normalizer(ROOT, account_id=None)
    assert normalize(pulumi.StringAsset("print('hi')")) == {"string_sha256": hashlib.sha256(b"print('hi')").hexdigest()}


def test_files_outside_the_project_are_named_from_the_installed_package(tmp_path: Path) -> None:
    normalize = _Normalizer(tmp_path, account_id=None)  # a project elsewhere, using this package's function code
    assert normalize.path(str(ROOT / "mlops_dsl/aws/trigger_function.py")) == "mlops_dsl/aws/trigger_function.py"
    (tmp_path / "data.csv").write_text("a\n")
    assert normalize.path("data.csv") == "data.csv"
