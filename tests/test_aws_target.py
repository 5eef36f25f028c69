"""The AWS target: every aws stack under Pulumi mocks, and its wiring asserted on the recorded inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.aws import (
    AwsPlatform,
    AwsPlatformArgs,
    FeatureStore,
    ModelRegistry,
    ModelServing,
    Monitoring,
    RetrainingTrigger,
    Storage,
    TrainingPipeline,
)
from components.aws.context import UNSCOPED_ACTIONS
from components.aws.functions import archive, archive_files
from mlops_dsl.contracts.names import AWS_LIMITS as LIMITS
from mlops_dsl.contracts.names import PIPELINE_NAME_LIMIT
from mlops_dsl.loading.loader import StackOverrides, load_platform
from mlops_dsl.loading.stack import find_project, load_stack
from mlops_dsl.review.mocks import MockRun, RecordedResource, Secret, reveal
from tests.conftest import STAND_IN_SECRETS, StackRuns, stacks_of

ROOT = Path(__file__).resolve().parents[1]
PROJECT = find_project(ROOT)
STACKS = stacks_of("aws")


@pytest.fixture(scope="module")
def runs() -> StackRuns:
    return StackRuns(STACKS)


def inputs(resource: RecordedResource) -> dict[str, Any]:
    return dict(reveal(resource.inputs))


def test_there_is_an_aws_stack() -> None:
    assert "churn-prod" in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_the_resource_graph(stack: str, runs: StackRuns) -> None:
    run = runs[stack]
    platform = load_stack(PROJECT, stack).platform
    counts = {t: len(run.of_type(t)) for t in {r.type for r in run.resources}}
    assert counts["mlops:aws:Platform"] == 1
    for component in ("Storage", "FeatureStore", "ModelRegistry", "Monitoring", "RetrainingTrigger"):
        assert counts[f"mlops:aws:{component}"] == 1
    assert counts["mlops:aws:TrainingPipeline"] == counts["mlops:aws:ModelServing"] == len(platform.models)
    assert counts["aws:sagemaker/pipeline:Pipeline"] == counts["aws:sagemaker/modelPackageGroup:ModelPackageGroup"] == len(platform.models)
    assert counts["aws:sagemaker/featureGroup:FeatureGroup"] == len(platform.feature_store.feature_views)
    assert counts["aws:cloudwatch/metricAlarm:MetricAlarm"] == sum(len(m.monitors) for m in platform.models)
    slack_channels = sum(1 for c in platform.notifications if c.kind == "slack")
    assert counts["aws:lambda/function:Function"] == 3 + slack_channels  # trigger, deploy, batch, a forwarder per Slack channel
    assert counts["aws:kms/key:Key"] == 1
    platform_urn = run.one("mlops:aws:Platform").urn
    for resource in run.resources:
        if resource.type != "mlops:aws:Platform":
            chain = []
            parent = resource.parent
            while parent and parent != platform_urn:
                parent = next((r.parent for r in run.resources if r.urn == parent), None)
                chain.append(parent)
            assert parent == platform_urn, f"{resource.type} {resource.name} is not inside the platform component"


def alarms(run: MockRun) -> list[dict[str, Any]]:
    return [inputs(r) for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]


def metrics_of(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    if alarm.get("metricQueries"):
        return [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
    return [{"namespace": alarm["namespace"], "metricName": alarm["metricName"], "dimensions": alarm["dimensions"]}]


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_watches_its_endpoint_and_notifies_someone(stack: str, runs: StackRuns) -> None:
    run = runs[stack]
    topics = {inputs(r)["name"]: r for r in run.of_type("aws:sns/topic:Topic")}
    topic_arns = {f"arn:aws:sns:eu-west-1:123456789012:{name}" for name in topics}
    subscribed = {inputs(s)["topic"] for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")}
    for alarm in alarms(run):
        model = alarm["tags"]["mlops:model"]
        endpoint = f"churn-prod-{model}"
        watched = metrics_of(alarm)
        assert watched, f"alarm {alarm['name']} watches nothing"
        for metric in watched:
            dimensions = metric["dimensions"]
            assert endpoint in (dimensions.get("EndpointName"), dimensions.get("Endpoint")), (alarm["name"], dimensions)
            if metric["namespace"] == "AWS/SageMaker":  # the endpoint's own metrics are per variant
                assert dimensions["VariantName"] == "primary"
            else:  # Model Monitor's metrics are per monitoring schedule
                assert dimensions["MonitoringSchedule"].startswith(endpoint)
        assert alarm["alarmActions"] and set(alarm["alarmActions"]) <= topic_arns
        assert set(alarm["alarmActions"]) <= subscribed, "an alarm notifies a topic nobody subscribes to"
    for topic in topics.values():
        assert inputs(topic)["kmsMasterKeyId"].startswith("arn:aws:kms:")


def test_alarm_thresholds_and_metrics_follow_the_spec(runs: StackRuns) -> None:
    by_name = {a["name"]: a for a in alarms(runs["churn-prod"])}
    latency = by_name["churn-prod-churn-churn-latency-p99"]
    assert (latency["metricName"], latency["extendedStatistic"], latency["threshold"]) == ("ModelLatency", "p99", 250_000)
    drift = by_name["churn-prod-churn-churn-feature-drift"]
    assert drift["threshold"] == 0.1 and drift["metricQueries"][-1]["expression"] == "MAX([f0,f1,f2])"
    assert [q["metric"]["metricName"] for q in drift["metricQueries"][:-1]] == [
        "feature_baseline_drift_sessions_last_30d",
        "feature_baseline_drift_avg_session_minutes",
        "feature_baseline_drift_monthly_charges",
    ]
    quality = by_name["churn-prod-churn-churn-quality"]
    assert (quality["metricName"], quality["comparisonOperator"], quality["threshold"]) == ("auc", "LessThanThreshold", 0.72)
    errors = by_name["churn-prod-churn-churn-error-rate"]
    assert errors["metricQueries"][-1]["expression"] == "IF(requests > 0, errors / requests, 0)"


def targets(run: MockRun) -> dict[str, str]:
    return {inputs(t)["rule"]: inputs(t)["arn"] for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget")}


def test_eventbridge_targets_are_the_trigger_function_and_the_pipeline(runs: StackRuns) -> None:
    run = runs["churn-prod"]
    rules = {inputs(r)["name"]: inputs(r) for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    wiring = targets(run)
    trigger = next(
        inputs(f)["name"] for f in run.of_type("aws:lambda/function:Function") if inputs(f)["handler"].endswith("trigger_function.handler")
    )
    pipeline = run.one("aws:sagemaker/pipeline:Pipeline")
    assert wiring["churn-prod-retraining-alarms"].endswith(f":function:{trigger}")
    assert wiring["churn-prod-retraining-new-data"].endswith(f":function:{trigger}")
    assert wiring["churn-prod-retraining-runs-ended"].endswith(f":function:{trigger}")
    assert wiring["churn-prod-churn-training-schedule"].endswith(f":pipeline/{inputs(pipeline)['pipelineName']}")
    assert rules["churn-prod-churn-training-schedule"]["scheduleExpression"] == "cron(0 3 ? * MON *)"
    pattern = json.loads(rules["churn-prod-retraining-alarms"]["eventPattern"])
    assert pattern["detail"]["alarmName"] == ["churn-prod-churn-churn-feature-drift", "churn-prod-churn-churn-quality"]
    assert pattern["detail"]["state"] == {"value": ["ALARM"]}
    data = json.loads(rules["churn-prod-retraining-new-data"]["eventPattern"])
    assert data["detail"]["object"]["key"] == [{"prefix": "raw/churn_labels/"}]
    scheduled = next(
        inputs(t)
        for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if inputs(t)["rule"] == "churn-prod-churn-training-schedule"
    )
    parameters = {p["name"]: p["value"] for p in scheduled["sagemakerPipelineTarget"]["pipelineParameterLists"]}
    assert parameters["TriggerReason"] == "schedule (0 3 * * 1)"
    rule_urns = {r.urn for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    from_rules = [p for p in run.of_type("aws:lambda/permission:Permission") if p.parent in rule_urns]
    assert len(from_rules) == len(run.of_type("aws:cloudwatch/eventTarget:EventTarget")) - 1  # the schedule targets the pipeline
    for permission in from_rules:
        assert inputs(permission)["principal"] == "events.amazonaws.com" and inputs(permission)["sourceArn"]


def test_function_configuration_matches_the_infrastructure(runs: StackRuns) -> None:
    run = runs["churn-prod"]
    functions = {inputs(f)["handler"].split(".")[-2]: inputs(f) for f in run.of_type("aws:lambda/function:Function")}
    trigger = json.loads(functions["trigger_function"]["environment"]["variables"]["MLOPS_TRIGGER_CONFIG"])
    alarm_names = {a["name"] for a in alarms(run)}
    assert set(trigger["alarms"]) <= alarm_names
    assert trigger["models"]["churn"] == {
        "pipeline": "churn-prod-churn",
        "cooldown_seconds": 21600,
        "dedup_seconds": 3600,
        "max_concurrent_runs": 1,
        "min_new_rows": {"churn_labels": 500},
    }
    # Rows are counted from new objects' footers: the trigger may read objects under the watched prefix, and no others.
    trigger_policy = next(d for name, d in iam_documents(run) if name == "churn-retraining-function-role-policy")
    reads = [s for s in trigger_policy["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert [s["Resource"] for s in reads] == [["arn:aws:s3:::churn-prod-data-mock0001/raw/churn_labels/*"]]
    deploy = json.loads(functions["deploy_function"]["environment"]["variables"]["MLOPS_DEPLOY_CONFIG"])
    [settings] = deploy["groups"].values()
    assert list(deploy["groups"]) == [inputs(run.one("aws:sagemaker/modelPackageGroup:ModelPackageGroup"))["modelPackageGroupName"]]
    assert set(settings["rollback_alarms"]) <= alarm_names and settings["rollback_alarms"]
    assert settings["capture"]["sampling_percent"] == 25 and settings["capture"]["enabled"] is True
    assert settings["autoscaling"] == {"min": 2, "max": 12, "metric": "cpu", "target": 70.0}
    assert settings["canary"] == {"percent": 10, "bake_seconds": 900}
    assert (
        settings["monitoring"]["job_definition"]
        == inputs(run.one("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"))["name"]
    )


def iam_documents(run: MockRun) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM identity policy: role inline policies."""
    return [(r.name, json.loads(inputs(r)["policy"])) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")]


@pytest.mark.parametrize("stack", STACKS)
def test_no_iam_statement_uses_a_wildcard_action_or_an_unneeded_wildcard_resource(stack: str, runs: StackRuns) -> None:
    documents = iam_documents(runs[stack])
    assert len(documents) >= 8
    for name, document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in actions), (name, actions)
            if "*" in resources:
                assert set(actions) <= UNSCOPED_ACTIONS, (name, actions)
    for role in runs[stack].of_type("aws:iam/role:Role"):
        trust = json.loads(inputs(role)["assumeRolePolicy"])
        [principal] = trust["Statement"]
        assert principal["Principal"]["Service"].endswith(".amazonaws.com")
        assert principal["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_the_least_privilege_check_itself_refuses_wildcards(mock_program: Callable[..., MockRun]) -> None:
    import pulumi

    from components.aws.context import Account, statement
    from mlops_dsl.contracts.names import AwsNames

    spec = load_platform(ROOT / "examples/churn/platform.py", environment="prod")["prod"]

    class Holder(pulumi.ComponentResource):
        def __init__(self, name: str, statements: list[dict[str, Any]]) -> None:
            super().__init__("test:Holder", name, {}, None)
            account = Account(
                spec,
                AwsNames("churn", "prod"),
                pulumi.Output.from_input("123456789012"),
                pulumi.Output.from_input("arn:aws:kms:eu-west-1:123456789012:key/k"),
            )
            account.role(f"{name}-role", "lambda.amazonaws.com", statements, parent=self)

    with pytest.raises(ValueError, match="wildcard action 's3:\\*'"):
        mock_program(lambda: Holder("a", [statement(["s3:*"], ["arn:aws:s3:::bucket"])]))
    with pytest.raises(ValueError, match="Resource '\\*'"):
        mock_program(lambda: Holder("b", [statement(["s3:GetObject"], ["*"])]))


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(stack: str, runs: StackRuns) -> None:
    run = runs[stack]
    buckets = [b.urn for b in run.of_type("aws:s3/bucket:Bucket")]
    assert len(buckets) == 2

    def per_bucket(kind: str) -> dict[str, dict[str, Any]]:
        # each setting is declared as a child of its bucket
        return {r.parent: inputs(r) for r in run.of_type(kind) if r.parent}

    encryption = per_bucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    versioning = per_bucket("aws:s3/bucketVersioning:BucketVersioning")
    blocks = per_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    ownership = per_bucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    policies = per_bucket("aws:s3/bucketPolicy:BucketPolicy")
    for bucket in buckets:
        [rule] = encryption[bucket]["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and rule["bucketKeyEnabled"] is True
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
        assert versioning[bucket]["versioningConfiguration"]["status"] == "Enabled"
        assert all(
            blocks[bucket][flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        assert ownership[bucket]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        [deny] = json.loads(policies[bucket]["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_data_at_rest_is_encrypted_everywhere(runs: StackRuns) -> None:
    run = runs["churn-prod"]
    key = run.one("aws:kms/key:Key")
    assert inputs(key)["enableKeyRotation"] is True
    policy = json.loads(inputs(key)["policy"])
    assert all("*" not in action for statement in policy["Statement"] for action in statement["Action"])
    table = inputs(run.one("aws:dynamodb/table:Table"))
    assert table["serverSideEncryption"]["enabled"] is True and table["pointInTimeRecovery"]["enabled"] is True
    for group in run.of_type("aws:sagemaker/featureGroup:FeatureGroup"):
        store = inputs(group)["offlineStoreConfig"]["s3StorageConfig"]
        assert store["kmsKeyId"].startswith("arn:aws:kms:")
        online = inputs(group).get("onlineStoreConfig")
        assert online is None or online["securityConfig"]["kmsKeyId"].startswith("arn:aws:kms:")
    for log_group in run.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert inputs(log_group)["kmsKeyId"].startswith("arn:aws:kms:")


def test_slack_is_reached_through_a_forwarder_holding_the_webhook_as_a_secret(runs: StackRuns) -> None:
    run = runs["churn-prod"]
    subscriptions = [inputs(s) for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert not [s for s in subscriptions if s["protocol"] == "https" and "hooks.slack.com" in str(s["endpoint"])]
    [forwarder] = [r for r in run.of_type("aws:lambda/function:Function") if inputs(r)["handler"].endswith("notify_function.handler")]
    assert isinstance(forwarder.inputs["environment"], Secret)  # the webhook's secrecy covers the whole environment
    variables = inputs(forwarder)["environment"]["variables"]
    assert variables["MLOPS_SLACK_WEBHOOK_URL"] == STAND_IN_SECRETS["slackWebhookUrl"]
    assert variables["MLOPS_SLACK_CHANNEL"] == "#ml-alerts"
    assert inputs(forwarder)["kmsKeyArn"].startswith("arn:aws:kms:")
    [to_lambda] = [s for s in subscriptions if s["protocol"] == "lambda"]
    assert to_lambda["endpoint"].endswith(f":function:{inputs(forwarder)['name']}")
    [permission] = [inputs(p) for p in run.of_type("aws:lambda/permission:Permission") if inputs(p)["principal"] == "sns.amazonaws.com"]
    assert permission["sourceArn"] == to_lambda["topic"] and permission["function"] == inputs(forwarder)["name"]
    slack = STAND_IN_SECRETS["slackWebhookUrl"]
    plain = json.dumps([r.inputs for r in run.resources], default=lambda value: "<secret>" if isinstance(value, Secret) else str(value))
    assert slack not in plain


def test_feature_groups_follow_the_views(runs: StackRuns) -> None:
    groups = {inputs(g)["featureGroupName"]: inputs(g) for g in runs["churn-prod"].of_type("aws:sagemaker/featureGroup:FeatureGroup")}
    activity = groups["churn-prod-customer-activity"]
    assert activity["recordIdentifierFeatureName"] == "customer_id" and activity["eventTimeFeatureName"] == "event_timestamp"
    assert {d["featureName"]: d["featureType"] for d in activity["featureDefinitions"]}["avg_session_minutes"] == "Fractional"
    assert activity["onlineStoreConfig"]["enableOnlineStore"] is True
    assert activity["offlineStoreConfig"]["dataCatalogConfig"]["tableName"] == "churn_prod_customer_activity"


def test_the_pipeline_definition_has_the_steps_and_the_gate(runs: StackRuns) -> None:
    definition = json.loads(inputs(runs["churn-prod"].one("aws:sagemaker/pipeline:Pipeline"))["pipelineDefinition"])
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("Prepare", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("DataQualityBaseline", "QualityCheck"),
        ("Gate", "Condition"),
    ]
    assert {p["Name"] for p in definition["Parameters"]} == {"TriggerReason", "RunId"}
    gate = definition["Steps"][4]["Arguments"]
    metric, beats = gate["Conditions"]
    assert (metric["Type"], metric["LeftValue"]["Std:JsonGet"]["Path"], metric["RightValue"]) == (
        "GreaterThanOrEqualTo",
        "metrics.roc_auc.value",
        0.75,
    )
    assert beats["LeftValue"]["Std:JsonGet"]["Path"] == "gate.beats_production"
    [register] = [s for s in gate["IfSteps"] if s["Type"] == "RegisterModel"]
    assert register["Arguments"]["ModelApprovalStatus"] == "PendingManualApproval"  # prod approval is manual
    assert register["Arguments"]["CustomerMetadataProperties"]["trigger_reason"] == {"Get": "Parameters.TriggerReason"}
    assert [s["Type"] for s in gate["ElseSteps"]] == ["Fail"]
    prepare = definition["Steps"][0]["Arguments"]
    assert prepare["AppSpecification"]["ContainerEntrypoint"] == ["mlops", "sagemaker", "prepare"]
    sources = {i["InputName"]: i["S3Input"]["S3Uri"] for i in prepare["ProcessingInputs"]}
    assert sources["labels"] == "s3://churn-prod-data-mock0001/raw/churn_labels"
    assert sources["features-billing"].endswith("/offline-store/churn-prod-billing")


LONG = "a-model-with-a-very-long-name-that-goes-on-and-on-for-sixty-chars"[:63].rstrip("-")


def test_names_fit_aws_limits_for_long_model_and_platform_names(mock_program: Callable[..., MockRun]) -> None:
    spec = load_platform(
        ROOT / "examples/churn/platform.py",
        environment="prod",
        stack=StackOverrides({"name": "a-platform-whose-name-is-also-very-long-indeed-yes", "models.churn.name": LONG}, "test"),
    )["prod"]
    run = mock_program(lambda: AwsPlatform("p", AwsPlatformArgs(spec, secrets=STAND_IN_SECRETS)))
    checks = {
        "aws:lambda/function:Function": ("name", LIMITS["function"]),
        "aws:cloudwatch/eventRule:EventRule": ("name", LIMITS["rule"]),
        "aws:sagemaker/pipeline:Pipeline": ("pipelineName", PIPELINE_NAME_LIMIT),
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", LIMITS["model_package_group"]),
        "aws:sagemaker/featureGroup:FeatureGroup": ("featureGroupName", LIMITS["feature_group"]),
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("name", LIMITS["job_definition"]),
        "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", LIMITS["alarm"]),
        "aws:s3/bucket:Bucket": ("bucketPrefix", LIMITS["bucket_prefix"]),
        "aws:dynamodb/table:Table": ("name", LIMITS["table"]),
    }
    for kind, (field, limit) in checks.items():
        found = [inputs(r)[field] for r in run.of_type(kind)]
        assert found and all(len(value) <= limit for value in found), (kind, found)
    deploy = next(inputs(f) for f in run.of_type("aws:lambda/function:Function") if "deploy" in inputs(f)["handler"])
    [settings] = json.loads(deploy["environment"]["variables"]["MLOPS_DEPLOY_CONFIG"])["groups"].values()
    assert len(settings["endpoint"]) + len("-v1234") <= 63  # model names the deploy function derives


@pytest.mark.parametrize(
    ("component", "token"),
    [
        (Storage, "mlops:aws:Storage"),
        (FeatureStore, "mlops:aws:FeatureStore"),
        (TrainingPipeline, "mlops:aws:TrainingPipeline"),
        (ModelRegistry, "mlops:aws:ModelRegistry"),
        (ModelServing, "mlops:aws:ModelServing"),
        (Monitoring, "mlops:aws:Monitoring"),
        (RetrainingTrigger, "mlops:aws:RetrainingTrigger"),
    ],
)
def test_component_type_tokens_are_pinned(component: type, token: str, runs: StackRuns) -> None:
    recorded = next((r for r in runs["churn-prod"].resources if r.type == token), None)
    assert recorded is not None, f"{component.__name__} was not built as {token}"
    children = [r for r in runs["churn-prod"].resources if r.parent == recorded.urn]
    assert children, f"{token} has no children"


def test_the_function_archive_is_the_aws_runtime_folder_and_the_contracts() -> None:
    assert archive_files() == [
        "__init__.py",
        "aws/__init__.py",
        "aws/batch_function.py",
        "aws/deploy_function.py",
        "aws/notify_function.py",
        "aws/parquet_rows.py",
        "aws/pipelines.py",
        "aws/record_preprocessor.py",
        "aws/state.py",
        "aws/trigger_function.py",
        "contracts/__init__.py",
        "contracts/aws.py",
        "contracts/code.py",
        "contracts/environment.py",
        "contracts/names.py",
        "contracts/retraining.py",
        "spec/__init__.py",
        "spec/durations.py",
    ]
    assert sorted(archive().assets) == [f"mlops_dsl/{name}" for name in archive_files()]


def test_the_function_archive_imports_with_only_the_standard_library(tmp_path: Path) -> None:
    for name, asset in archive().assets.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        assert isinstance(asset, pulumi.StringAsset | pulumi.FileAsset), name
        target.write_text(asset.text if isinstance(asset, pulumi.StringAsset) else Path(asset.path).read_text())
    script = (
        "import sys\n"
        "for name in ('trigger_function', 'deploy_function', 'batch_function', 'notify_function', 'pipelines'):\n"
        "    __import__(f'mlops_dsl.aws.{name}')\n"
        "outside = sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'mlops_dsl', '__main__'})\n"
        "print(outside)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); " + script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
