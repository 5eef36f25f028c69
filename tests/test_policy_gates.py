"""Policy gates on plans: every rule catches its seeded violation, the stacks plan clean, waivers need reasons.

(tests/test_policy.py is the retraining policy; this is the deployment policy of :mod:`mlops_dsl.review.policy.gates`.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.review.plan import SECRET, stand_in
from mlops_dsl.review.policy.gates import RULES, Waiver, evaluate, read_waivers
from mlops_dsl.spec.problems import SpecError
from tests.helpers.plans import ROOT, of_type, plan_of, project_with_stacks, resource, seeded_stack

Plan = dict[str, Any]
DEPLOY = "aws:lambda/function:Function::churn-registry-deploy"


def found(plan: Plan, rule: str | None = None) -> list[tuple[str, str, str]]:
    """(rule, resource, problem) of every violation ``evaluate`` reports (of one rule)."""
    return [(v.rule, v.resource, v.problem) for v in evaluate(plan).violations if rule is None or v.rule == rule]


def only(plan: Plan, rule: str) -> list[tuple[str, str]]:
    """(resource, problem) of the violations, after checking that they all belong to ``rule``."""
    violations = found(plan)
    assert {v[0] for v in violations} == {rule}, violations
    return [(resource_, problem) for _, resource_, problem in violations]


def drop(plan: Plan, type_token: str, name: str | None = None) -> Plan:
    plan["resources"] = [r for r in plan["resources"] if not (r["type"] == type_token and (name is None or r["name"] == name))]
    return plan


@pytest.fixture(scope="module")
def aws() -> Callable[[], Plan]:
    plan_of("churn-prod")  # computed once, copied for each use
    return lambda: plan_of("churn-prod")


@pytest.fixture(scope="module")
def k8s() -> Callable[[], Plan]:
    plan_of("retail-prod")
    return lambda: plan_of("retail-prod")


# --- the project's own stacks ------------------------------------------------------------


@pytest.mark.parametrize("stack", project_with_stacks().stack_names())
def test_every_stack_of_the_project_plans_clean(stack: str) -> None:
    policy = plan_of(stack)["policy"]
    assert policy["violations"] == [] and policy["passed"] is True
    assert policy["waived"] == [] and policy["unused_waivers"] == []


def test_prod_rules_apply_only_where_the_stage_is_prod() -> None:
    plan = plan_of("churn-dev")  # one replica: fine in dev
    assert {r["id"]: r["applies"] for r in plan["policy"]["rules"]} == {rule.id: not rule.prod_only for rule in RULES}
    assert found(plan) == []
    plan["stage"] = "prod"
    assert ("prod-serving-replicas", "kubernetes:apps/v1:Deployment::churn-churn-deployment") in [v[:2] for v in found(plan)]


# --- monitoring --------------------------------------------------------------------------------


def test_a_prod_model_server_nobody_scrapes(k8s: Callable[[], Plan]) -> None:
    plan = drop(k8s(), "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "retail-fraud-service-monitor")
    violations = only(plan, "prod-endpoint-monitoring")
    assert [r for r, _ in violations] == [
        "kubernetes:apps/v1:Deployment::retail-fraud-canary-deployment",
        "kubernetes:apps/v1:Deployment::retail-fraud-deployment",
    ]
    assert "no ServiceMonitor scrapes a Service in front of model fraud's servers" in violations[0][1]


def test_a_prod_model_without_alert_rules(k8s: Callable[[], Plan]) -> None:
    plan = k8s()
    rule = resource(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "retail-monitoring-rules")
    rule["inputs"]["spec"]["groups"] = [g for g in rule["inputs"]["spec"]["groups"] if g["name"] != "retail-ltv"]
    assert only(plan, "prod-endpoint-monitoring") == [
        (
            "kubernetes:apps/v1:Deployment::retail-ltv-deployment",
            "no alert rule watches model ltv (no PrometheusRule alert has model='ltv')",
        )
    ]


def test_a_prod_endpoint_without_alarms_or_model_monitor(aws: Callable[[], Plan]) -> None:
    plan = drop(aws(), "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert only(plan, "prod-endpoint-monitoring") == [
        ("endpoint:churn-prod-churn", "no CloudWatch alarm watches endpoint churn-prod-churn (no alarm has it in its dimensions)")
    ]
    plan = drop(aws(), "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    ((subject, problem),) = only(plan, "prod-endpoint-monitoring")
    assert subject == "endpoint:churn-prod-churn"
    assert problem.startswith("endpoint churn-prod-churn has no Model Monitor data-quality job that reads it")
    assert DEPLOY in problem


def test_an_alarm_without_dimensions_or_action(aws: Callable[[], Plan]) -> None:
    plan = aws()
    latency = resource(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "churn-monitoring-churn-churn-latency-p99")
    del latency["inputs"]["dimensions"]
    errors = resource(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "churn-monitoring-churn-churn-error-rate")
    del errors["inputs"]["metricQueries"][1]["metric"]["dimensions"]
    quality = resource(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "churn-monitoring-churn-churn-quality")
    quality["inputs"]["alarmActions"] = []
    violations = found(plan, "prod-alarm-dimensions-and-actions")
    assert [(r.rsplit("::", 1)[1], p.split(",")[0]) for _, r, p in violations] == [
        ("churn-monitoring-churn-churn-error-rate", "the alarm watches a metric without dimensions"),
        ("churn-monitoring-churn-churn-latency-p99", "the alarm watches a metric without dimensions"),
        ("churn-monitoring-churn-churn-quality", "the alarm has no alarm action"),
    ]


def test_an_alert_that_reaches_no_receiver(k8s: Callable[[], Plan]) -> None:
    plan = k8s()
    rules = resource(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "retail-monitoring-rules")["inputs"]["spec"]["groups"]
    alert = next(r for g in rules for r in g["rules"] if r["alert"] == "ltv-rmse")
    alert["labels"].update(notify="", retrain="false")  # only the root's default receiver, which does nothing
    assert only(plan, "prod-alarm-dimensions-and-actions") == [
        (
            "kubernetes:monitoring.coreos.com/v1:PrometheusRule::retail-monitoring-rules",
            "alert ltv-rmse reaches no receiver that acts (no AlertmanagerConfig route sends it to a channel or webhook)",
        )
    ]


def test_alerts_without_routing_or_model(k8s: Callable[[], Plan]) -> None:
    plan = drop(k8s(), "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
    rules = resource(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "retail-monitoring-rules")["inputs"]["spec"]["groups"]
    alerts = [r for g in rules for r in g["rules"]]
    del alerts[0]["labels"]["model"]
    problems = [p for _, p in only(plan, "prod-alarm-dimensions-and-actions")]
    assert sum("reaches no receiver" in p for p in problems) == len(alerts)
    assert [p for p in problems if "no model label" in p] == [
        f"alert {alerts[0]['alert']} has no model label, so routing and retraining cannot tell which model fired"
    ]


# --- seeded stacks: a real run of the program with prod overrides that break the rules ---------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stacks = tmp_path_factory.mktemp("seeded") / "stacks"
    seeded_stack(
        stacks,
        "churn-prod",
        """config:
  mlops:spec: examples/churn/platform.py
  mlops:environment: prod
  mlops:overrides:
    models.churn.serving.data_capture.enabled: false
    models.churn.serving.replicas: 1
    models.churn.serving.autoscaling.min_replicas: 1
""",
    )
    seeded_stack(
        stacks,
        "retail-prod",
        """config:
  mlops:spec: examples/retail/platform.py
  mlops:environment: prod
  mlops:overrides:
    models.fraud.serving.replicas: 1
    models.fraud.serving.autoscaling.min_replicas: 1
    models.ltv.serving.data_capture.enabled: false
  mlops:waivers:
    - rule: prod-serving-replicas
      resource: retail-fraud-autoscaler
      reason: fraud scoring is shadow traffic until Q3; one replica is enough
    - rule: no-wildcard-actions
      resource: retail-retraining-role
      reason: stale, nothing to waive
""",
    )
    return stacks


def test_seeded_aws_stack_without_capture_and_one_instance(seeded: Path) -> None:
    policy = plan_of("churn-prod", seeded)["policy"]
    assert policy["passed"] is False
    assert [(v["rule"], v["resource"], v["problem"].split(",")[0]) for v in policy["violations"]] == [
        ("prod-data-capture", "endpoint:churn-prod-churn", "endpoint churn-prod-churn does not capture its traffic"),
        ("prod-serving-replicas", "endpoint:churn-prod-churn", "endpoint churn-prod-churn may scale down to 1 instance in prod"),
        ("prod-serving-replicas", "endpoint:churn-prod-churn", "endpoint churn-prod-churn starts with 1 instance in prod"),
    ]
    assert [v["fix"] for v in policy["violations"]][1:] == [
        "set models.churn.serving.autoscaling.min_replicas to 2 or more for prod",
        "set models.churn.serving.replicas to 2 or more for prod",
    ]


def test_seeded_kubernetes_stack_with_a_waiver(seeded: Path) -> None:
    policy = plan_of("retail-prod", seeded)["policy"]
    assert [(v["rule"], v["resource"]) for v in policy["violations"]] == [
        ("prod-data-capture", "model:ltv"),
        ("prod-serving-replicas", "kubernetes:apps/v1:Deployment::retail-fraud-deployment"),
    ]
    (waived,) = policy["waived"]
    assert waived["resource"] == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler::retail-fraud-autoscaler"
    assert waived["reason"] == "fraud scoring is shadow traffic until Q3; one replica is enough"
    assert waived["problem"] == "model fraud's autoscaler may scale down to 1 replica in prod"
    assert policy["unused_waivers"] == [
        {"rule": "no-wildcard-actions", "resource": "retail-retraining-role", "reason": "stale, nothing to waive"}
    ]


def test_plan_exits_1_on_a_violation_and_shows_the_waiver(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("mlops_dsl.cli.main.find_project", lambda: project_with_stacks(seeded))
    assert main(["plan", "--stack", "retail-prod"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert "Policy: FAILED, 2 violations (8 of 8 rules apply to this stage, 1 waived)" in out
    assert "  x prod-serving-replicas: kubernetes:apps/v1:Deployment::retail-fraud-deployment: model fraud runs 1 replica" in out
    assert "      fix: set models.fraud.serving.replicas to 2 or more for prod" in out
    assert "      reason: fraud scoring is shadow traffic until Q3; one replica is enough" in out
    assert "  ? waiver matches nothing: no-wildcard-actions on retail-retraining-role" in out


# --- storage and access ---------------------------------------------------------------------------


def _without(*path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        for key in path[:-1]:
            inputs = inputs[key]
        del inputs[path[-1]]

    return mutate


@pytest.mark.parametrize(
    ("type_token", "name", "mutate", "problem"),
    [
        ("aws:sns/topic:Topic", "churn-monitoring-ml-team", _without("kmsMasterKeyId"), "kmsMasterKeyId is not set"),
        (
            "aws:dynamodb/table:Table",
            "churn-retraining-state",
            lambda i: i["serverSideEncryption"].update(enabled=False),
            "serverSideEncryption.enabled is not set",
        ),
        ("aws:cloudwatch/logGroup:LogGroup", "churn-registry-deploy-logs", _without("kmsKeyId"), "kmsKeyId is not set"),
        (
            "aws:sagemaker/featureGroup:FeatureGroup",
            "churn-features-billing",
            _without("offlineStoreConfig", "s3StorageConfig", "kmsKeyId"),
            "offlineStoreConfig.s3StorageConfig.kmsKeyId is not set",
        ),
        (
            "aws:sagemaker/featureGroup:FeatureGroup",
            "churn-features-billing",
            _without("onlineStoreConfig", "securityConfig"),
            "onlineStoreConfig.securityConfig.kmsKeyId is not set",
        ),
        (
            "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
            "churn-churn-serving-data-quality",
            _without("jobResources", "clusterConfig", "volumeKmsKeyId"),
            "jobResources.clusterConfig.volumeKmsKeyId is not set",
        ),
        ("aws:lambda/function:Function", "churn-registry-batch", _without("kmsKeyArn"), "no customer key (kmsKeyArn)"),
    ],
)
def test_unencrypted_storage(
    aws: Callable[[], Plan], type_token: str, name: str, mutate: Callable[[dict[str, Any]], None], problem: str
) -> None:
    plan = aws()
    mutate(resource(plan, type_token, name)["inputs"])
    ((subject, text),) = only(plan, "encryption-at-rest")
    assert subject == f"{type_token}::{name}"
    assert problem in text


def test_a_bucket_without_its_encryption_configuration(aws: Callable[[], Plan]) -> None:
    plan = drop(
        aws(),
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "churn-storage-data-encryption",
    )
    assert only(plan, "encryption-at-rest") == [
        ("aws:s3/bucket:Bucket::churn-storage-data", "the bucket has no server-side encryption configuration")
    ]


def test_unencrypted_pipeline_volumes_and_endpoints(aws: Callable[[], Plan]) -> None:
    plan = aws()
    pipeline = resource(plan, "aws:sagemaker/pipeline:Pipeline", "churn-churn-training-pipeline")
    definition = json.loads(pipeline["inputs"]["pipelineDefinition"])
    train = next(s for s in definition["Steps"] if s["Name"] == "Train")
    del train["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"]
    pipeline["inputs"]["pipelineDefinition"] = json.dumps(definition)
    del plan["artifacts"]["sagemaker_endpoints"]["churn-prod-churn"]["kms_key"]
    assert [(r, p.split(" (")[0]) for r, p in only(plan, "encryption-at-rest")] == [
        ("aws:sagemaker/pipeline:Pipeline::churn-churn-training-pipeline", "step Train: ResourceConfig.VolumeKmsKeyId is not set"),
        ("endpoint:churn-prod-churn", "endpoint churn-prod-churn has no KMS key for its volumes"),
    ]


def _add_statement(plan: Plan, statement: dict[str, Any]) -> Plan:
    policy = resource(plan, "aws:iam/rolePolicy:RolePolicy", "churn-registry-deploy-role-policy")
    document = json.loads(policy["inputs"]["policy"])
    document["Statement"].append(statement)
    policy["inputs"]["policy"] = json.dumps(document)
    return plan


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, "allows 's3:*'"),
        ({"Effect": "Allow", "Action": ["sagemaker:DescribeEndpoint", "*"], "Resource": "*"}, "allows '*'"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "allows everything but its NotAction"),
        ({"Action": "sagemaker:*", "Resource": "*"}, "allows 'sagemaker:*'"),  # Effect defaults to Allow
    ],
)
def test_wildcard_iam_actions(aws: Callable[[], Plan], statement: dict[str, Any], problem: str) -> None:
    plan = _add_statement(aws(), statement)
    ((subject, text),) = only(plan, "no-wildcard-actions")
    assert subject == "aws:iam/rolePolicy:RolePolicy::churn-registry-deploy-role-policy"
    assert text.startswith("policy.Statement[") and text.endswith(problem)


def test_a_wildcard_in_a_deny_statement_is_fine(aws: Callable[[], Plan]) -> None:
    plan = _add_statement(aws(), {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert found(plan) == []


def test_wildcard_rbac_verbs(k8s: Callable[[], Plan]) -> None:
    plan = k8s()
    resource(plan, "kubernetes:rbac.authorization.k8s.io/v1:Role", "retail-retraining-role")["inputs"]["rules"][0]["verbs"] = ["*"]
    assert only(plan, "no-wildcard-actions") == [
        ("kubernetes:rbac.authorization.k8s.io/v1:Role::retail-retraining-role", "rules[0] allows every verb ('*') on ['jobs']")
    ]


# --- serving and promotion ---------------------------------------------------------------------------


def test_a_declared_endpoint_configuration_with_one_instance_and_no_capture(aws: Callable[[], Plan]) -> None:
    plan = aws()
    plan["resources"].append(
        {
            "type": "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
            "name": "extra",
            "custom": True,
            "parent": None,
            "provider": None,
            "dependencies": [],
            "inputs": {"kmsKeyArn": "k", "productionVariants": [{"initialInstanceCount": 1}]},
        }
    )
    assert [v[:2] for v in found(plan)] == [
        ("prod-data-capture", "aws:sagemaker/endpointConfiguration:EndpointConfiguration::extra"),
        ("prod-serving-replicas", "aws:sagemaker/endpointConfiguration:EndpointConfiguration::extra"),
    ]


def test_automatic_approval_without_a_gate(aws: Callable[[], Plan]) -> None:
    plan = aws()
    (model,) = plan["artifacts"]["platform_spec"]["models"]
    model["registry"]["approval"], model["training"]["gate"] = "automatic", None
    assert only(plan, "prod-approval-gated") == [("model:churn", "model churn is promoted to prod automatically with no evaluation gate")]


@pytest.mark.parametrize(("status", "caught"), [("Approved", True), ("PendingManualApproval", False)])
def test_a_pipeline_that_registers_outside_its_gate(aws: Callable[[], Plan], status: str, caught: bool) -> None:
    plan = aws()
    pipeline = resource(plan, "aws:sagemaker/pipeline:Pipeline", "churn-churn-training-pipeline")
    definition = json.loads(pipeline["inputs"]["pipelineDefinition"])
    gate = definition["Steps"].pop()
    register = next(s for s in gate["Arguments"]["IfSteps"] if s["Type"] == "RegisterModel")
    register["Arguments"]["ModelApprovalStatus"] = status
    definition["Steps"].append(register)
    pipeline["inputs"]["pipelineDefinition"] = json.dumps(definition)
    expected = [
        (
            "aws:sagemaker/pipeline:Pipeline::churn-churn-training-pipeline",
            f"step {register['Name']} registers versions as Approved without a gate before it",
        )
    ]
    assert found(plan, "prod-approval-gated") == ([("prod-approval-gated", *expected[0])] if caught else [])


# --- secrets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [lambda s: s, lambda s: base64.b64encode(s.encode()).decode()])
def test_a_config_secret_in_plain_text(k8s: Callable[[], Plan], encode: Callable[[str], str]) -> None:
    plan = k8s()
    config_map = resource(plan, "kubernetes:core/v1:ConfigMap", "retail-training-job-templates")
    config_map["inputs"]["data"]["leak.txt"] = f"url={encode(stand_in('slackWebhookUrl'))}"
    assert only(plan, "no-plaintext-secrets") == [
        (
            "kubernetes:core/v1:ConfigMap::retail-training-job-templates",
            "data.leak.txt holds config secret slackWebhookUrl in plain text",
        )
    ]


def test_kubernetes_secret_data_written_in_the_program(k8s: Callable[[], Plan]) -> None:
    plan = k8s()
    secret = resource(plan, "kubernetes:core/v1:Secret", "retail-foundation-secrets")
    secret["inputs"]["stringData"] = {"retrainWebhookToken": SECRET, "extra": "hunter2"}
    assert only(plan, "no-plaintext-secrets") == [
        (
            "kubernetes:core/v1:Secret::retail-foundation-secrets",
            "stringData.extra is written in the program, not read from a config secret",
        )
    ]


def test_secret_looking_environment_variables_with_literal_values(k8s: Callable[[], Plan], aws: Callable[[], Plan]) -> None:
    plan = k8s()
    server = resource(plan, "kubernetes:apps/v1:Deployment", "retail-registry-server")
    env = server["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "ADMIN_PASSWORD", "value": "hunter2"})
    env.append({"name": "MLOPS_WEBHOOK_SECRET_FILE", "value": "/etc/secret/token"})  # a path, not a secret
    ((subject, problem),) = only(plan, "no-plaintext-secrets")
    assert subject == "kubernetes:apps/v1:Deployment::retail-registry-server"
    assert problem == f"spec.template.spec.containers[0].env[{len(env) - 2}] sets ADMIN_PASSWORD to a literal value"
    plan = aws()
    resource(plan, "aws:lambda/function:Function", "churn-registry-batch")["inputs"]["environment"]["variables"]["API_TOKEN"] = "t0k3n"
    assert only(plan, "no-plaintext-secrets") == [
        ("aws:lambda/function:Function::churn-registry-batch", "environment variable API_TOKEN is set in plain text")
    ]


def test_a_secret_in_a_stack_output(aws: Callable[[], Plan]) -> None:
    plan = aws()
    plan["outputs"]["hook"] = stand_in("slackWebhookUrl")
    assert only(plan, "no-plaintext-secrets") == [("output:hook", "stack output hook holds config secret slackWebhookUrl in plain text")]


# --- waivers ---------------------------------------------------------------------------------------


def test_a_waiver_names_the_resource_by_address_or_logical_name(aws: Callable[[], Plan]) -> None:
    plan = drop(aws(), "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    by_name = Waiver("encryption-at-rest", "churn-storage-data", "a reason")
    by_address = Waiver("encryption-at-rest", "aws:s3/bucket:Bucket::churn-storage-artifacts", "a reason")
    other_rule = Waiver("no-wildcard-actions", "churn-storage-data", "a reason")
    report = evaluate(plan, [by_name, by_address, other_rule])
    assert report.passed
    assert [(v.resource, w) for v, w in report.waived] == [
        ("aws:s3/bucket:Bucket::churn-storage-artifacts", by_address),
        ("aws:s3/bucket:Bucket::churn-storage-data", by_name),
    ]
    assert report.unused_waivers == [other_rule]


def waivers_of(tmp_path: Path, body: str) -> list[Waiver]:
    stacks = seeded_stack(tmp_path / "stacks", "demo", "config:\n  mlops:spec: examples/churn/platform.py\n" + body)
    return read_waivers(project_with_stacks(stacks), "demo")


def test_waivers_are_read_from_the_stack_config(tmp_path: Path) -> None:
    assert waivers_of(tmp_path, "") == []
    body = "  mlops:waivers:\n    - {rule: prod-data-capture, resource: model:ltv, reason: '  labels arrive by batch  '}\n"
    assert waivers_of(tmp_path, body) == [Waiver("prod-data-capture", "model:ltv", "labels arrive by batch")]


@pytest.mark.parametrize(
    ("waivers", "path", "message"),
    [
        ("[{rule: prod-data-capture, resource: model:ltv}]", "config.mlops:waivers[0].reason", "got None; allowed: why the violation"),
        ("[{rule: prod-data-capture, resource: model:ltv, reason: '  '}]", "config.mlops:waivers[0].reason", "got '  '"),
        ("[{rule: no-such-rule, resource: x, reason: r}]", "config.mlops:waivers[0].rule", "no such rule; got 'no-such-rule'"),
        ("[{rule: prod-data-capture, resource: x, reason: r, until: 2025}]", "config.mlops:waivers[0].until", "unknown waiver field"),
        ("[prod-data-capture]", "config.mlops:waivers[0]", "got 'prod-data-capture'; allowed: a mapping"),
        ("{rule: prod-data-capture}", "config.mlops:waivers", "allowed: a list of {rule, resource, reason} mappings"),
    ],
)
def test_a_bad_waiver_is_the_users_mistake(tmp_path: Path, waivers: str, path: str, message: str) -> None:
    with pytest.raises(SpecError) as error:
        waivers_of(tmp_path, f"  mlops:waivers: {waivers}\n")
    (problem,) = error.value.problems
    assert problem.path == path and message in problem.message
    assert problem.source.endswith("Pulumi.demo.yaml")


def test_plan_with_a_waiver_without_reason_exits_2_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = seeded_stack(
        tmp_path / "stacks",
        "churn-dev",
        "config:\n  mlops:spec: examples/churn/platform.py\n  mlops:environment: dev\n"
        "  mlops:waivers:\n    - rule: prod-serving-replicas\n      resource: churn-churn-deployment\n",
    )
    monkeypatch.setattr("mlops_dsl.cli.main.find_project", lambda: project_with_stacks(stacks))
    assert main(["plan", "--stack", "churn-dev"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.endswith("Pulumi.churn-dev.yaml: config.mlops:waivers[0].reason: got None; " + line.split("got None; ")[1])
    assert "a waiver needs a reason" in line


def test_the_rules_have_unique_ids_and_the_project_is_at_the_root() -> None:
    assert len({rule.id for rule in RULES}) == len(RULES)
    assert (ROOT / "Pulumi.yaml").is_file()
    assert of_type(plan_of("churn-dev"), "kubernetes:core/v1:Namespace")
