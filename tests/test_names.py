"""The one naming helper (mlops_dsl.contracts.names): each kind's limit, short names as they were,
long names shortened with a stable hash and still unique, run-time names unique per run and per
deployment; the deploy function with a re-approved older version and a repeated event; and a
platform with two long model names planned on both targets with every name unique and in its limit."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_dsl.aws.deploy_function import Deployer
from mlops_dsl.contracts import names as naming
from mlops_dsl.contracts.names import (
    AUTONAME_SUFFIX,
    AWS_LIMITS,
    KUBERNETES_LIMITS,
    AwsNames,
    KubernetesNames,
    autonamed,
    digest,
    endpoint_config_name,
    fit,
    retraining_job_name,
    sagemaker_model_name,
    transform_job_name,
)
from mlops_dsl.loading.loader import ResolvedSpec, resolve_data
from mlops_dsl.loading.name_rules import check_names, derived_names
from mlops_dsl.review.mocks import MockRun, reveal, run_under_mocks
from mlops_dsl.spec.problems import SpecError
from tests.helpers.aws_api import Gap
from tests.test_aws_deploy_function import ENDPOINT, GROUP, World, approved, settings

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
LONG_A = "customer-churn-propensity-score-for-the-region-emea"
LONG_B = "customer-churn-propensity-score-for-the-region-apac"
"""Two valid model names of 51 characters that differ only past any limit a prefix leaves them."""


def old_safe_name(*parts: str, limit: int) -> str:
    """What components/names.py did before: kept here to pin that names which were right stay the same."""
    text = re.sub(r"[^A-Za-z0-9-]+", "-", "-".join(parts)).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 9].rstrip('-')}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


# --- the limits ------------------------------------------------------------------------------------


def test_each_kind_has_the_limit_its_target_documents() -> None:
    assert KUBERNETES_LIMITS == {"object": 63, "service": 63, "label_value": 63, "cron_job": 52, "stateful_set": 52, "job": 63}
    sagemaker: tuple[naming.AwsKind, ...] = (
        "endpoint",
        "endpoint_config",
        "model",
        "transform_job",
        "model_package_group",
        "job_definition",
        "schedule",
    )
    assert {AWS_LIMITS[k] for k in sagemaker} == {63}
    assert (AWS_LIMITS["pipeline"], AWS_LIMITS["feature_group"], AWS_LIMITS["function"], AWS_LIMITS["rule"]) == (256, 64, 64, 64)
    assert (AWS_LIMITS["alarm"], AWS_LIMITS["table"], AWS_LIMITS["topic"], AWS_LIMITS["kms_alias"]) == (255, 255, 256, 256)
    assert (AWS_LIMITS["role"], AWS_LIMITS["role_policy"], AWS_LIMITS["lambda_permission"], AWS_LIMITS["event_target"]) == (
        64,
        128,
        100,
        64,
    )
    assert AWS_LIMITS["bucket_prefix"] == 37 and AUTONAME_SUFFIX == 8


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("role", 64), ("role_policy", 128), ("lambda_permission", 100), ("event_target", 64)],
)
def test_an_autonamed_resource_keeps_pulumis_autoname_only_while_it_fits(kind: naming.AwsKind, limit: int) -> None:
    fits = "p" * (limit - AUTONAME_SUFFIX)
    assert autonamed(fits, kind) is None  # Pulumi adds "-" and 7 hex: exactly the limit
    assert autonamed(fits + "x", kind) == fits + "x"  # with the suffix it would not fit: named explicitly, as it is
    too_long = "p" * limit + "x"
    explicit = autonamed(too_long, kind)
    assert explicit is not None and len(explicit) == limit and explicit.endswith(digest(too_long))
    assert autonamed("p" * limit + "y", kind) != explicit


# --- fit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "limit"),
    [
        (("churn-prod", "churn"), 42),
        (("churn-prod", "customer-activity"), 64),
        (("retail", "promo-response", "batch"), 52),
        (("a-platform-whose-name-is-also-very-long-indeed-yes-prod", "a-model-with-a-very-long-name"), 63),
        (("churn-prod", "x" * 70), 64),
    ],
)
def test_names_without_a_doubled_dash_are_what_they_were(parts: tuple[str, ...], limit: int) -> None:
    assert fit(*parts, limit=limit) == old_safe_name(*parts, limit=limit)


def test_a_long_name_keeps_its_head_and_ends_in_the_hash_of_the_whole() -> None:
    name = fit("churn-prod", LONG_A, "server", limit=52)
    whole = f"churn-prod-{LONG_A}-server"
    assert len(name) <= 52 and name.startswith("churn-prod-customer-churn") and name.endswith("-" + digest(whole))
    assert fit("churn-prod", LONG_A, "server", limit=52) == name  # stable: the same on every run
    assert fit("churn-prod", LONG_B, "server", limit=52) != name  # unique: a different whole, a different hash


def test_distinct_inputs_stay_distinct() -> None:
    assert fit("p", "a--b", limit=63) == "p-a--b" != fit("p", "a-b", limit=63)
    assert fit("p", "x-", limit=63) != fit("p", "x", limit=63)  # trimming an edge is hashed, not silent
    assert AwsNames("p", "e").feature_group("a__b") != AwsNames("p", "e").feature_group("a_b")
    assert AwsNames("p", "e").feature_group("_x") != AwsNames("p", "e").feature_group("x")


# --- Kubernetes ------------------------------------------------------------------------------------


def test_kubernetes_names_are_as_they_were_when_short() -> None:
    names = KubernetesNames("churn")
    assert (names.server("churn"), names.canary("churn"), names.route("churn")) == (
        "churn-churn-server",
        "churn-churn-canary",
        "churn-churn",
    )
    assert (names.batch("churn"), names.training_schedule("churn"), names.materialize()) == (
        "churn-churn-batch",
        "churn-churn-train",
        "churn-materialize",
    )
    assert (names.redis(), names.registry_database(), names.registry()) == ("churn-redis", "churn-registry-db", "churn-registry")


def test_kubernetes_names_of_long_models_stay_apart_and_within_their_kind() -> None:
    names = KubernetesNames("retail-analytics")
    services = {names.server(LONG_A), names.canary(LONG_A), names.server(LONG_B), names.canary(LONG_B), names.route(LONG_A)}
    assert len(services) == 5 and all(len(n) <= 63 and DNS_LABEL.fullmatch(n) for n in services)
    cron_jobs = {names.batch(LONG_A), names.training_schedule(LONG_A), names.batch(LONG_B), names.training_schedule(LONG_B)}
    assert len(cron_jobs) == 4 and all(len(n) <= 52 for n in cron_jobs)
    long_platform = KubernetesNames("p" * 60)
    assert len(long_platform.redis()) <= 52 and len(long_platform.registry_database()) <= 52  # StatefulSets
    assert long_platform.redis() != long_platform.registry_database()


def test_a_shortened_kubernetes_name_keeps_its_role_at_the_end() -> None:
    # kubectl get shows which object of a long model each one is.
    names = KubernetesNames("retail-analytics")
    assert names.server(LONG_A).endswith(f"-{digest(f'retail-analytics-{LONG_A}-server')}-server")
    assert names.canary(LONG_A).endswith("-canary") and names.batch(LONG_A).endswith("-batch")
    assert names.training_schedule(LONG_A).endswith("-train") and len(names.training_schedule(LONG_A)) == 52
    assert names.server(LONG_A).startswith("retail-analytics-customer-churn") and len(names.server(LONG_A)) == 63
    assert KubernetesNames("p" * 63).spec().endswith("-spec")


def test_a_retraining_job_is_unique_per_run_and_as_it_was_when_short() -> None:
    assert retraining_job_name("churn", "churn-20261124-120000-abcdef") == "churn-train-261124-120000-abcdef"
    first = retraining_job_name(LONG_A + "-xy", f"{LONG_A}-xy-20261124-120000-abcdef")
    second = retraining_job_name(LONG_A + "-xy", f"{LONG_A}-xy-20261124-180000-0f1e2d")
    assert first != second  # the second run of the day is a Job of its own (no 409 Conflict)
    for name in (first, second):
        assert len(name) <= 63 and DNS_LABEL.fullmatch(name)
    assert first.endswith("-261124-120000-abcdef") and second.endswith("-261124-180000-0f1e2d")
    assert len({retraining_job_name(LONG_A, f"run-{i}") for i in range(50)}) == 50


# --- AWS -------------------------------------------------------------------------------------------


def test_aws_names_are_as_they_were_when_right() -> None:
    names = AwsNames("churn", "prod")
    assert (names.endpoint("churn"), names.model_package_group("churn"), names.pipeline("churn")) == ("churn-prod-churn",) * 3
    assert names.feature_group("customer_activity") == "churn-prod-customer-activity"
    assert names.topic("ml-oncall") == "churn-prod-alerts-ml-oncall" and names.kms_alias("data") == "alias/churn-prod-data"
    assert names.bucket_prefix("artifacts") == "churn-prod-artifacts-"
    assert names.alarm("churn", "churn-latency-p99") == "churn-prod-churn-churn-latency-p99"


def test_a_bucket_prefix_counts_its_dash_in_the_providers_37() -> None:
    prefix = AwsNames("p" * 20, "e" * 8).bucket_prefix("artifacts")  # the joined text is 38 characters
    assert len(prefix) == 37 and prefix.endswith("-")


def test_models_whose_names_differ_only_in_a_doubled_dash_have_their_own_resources() -> None:
    names = AwsNames("churn", "prod")
    for derive in (names.endpoint, names.model_package_group, names.pipeline):
        assert derive("a--b") != derive("a-b")
    assert names.alarm("a--b", "latency") != names.alarm("a-b", "latency")


def test_every_aws_name_of_long_models_fits_and_stays_apart() -> None:
    names = AwsNames("a-platform-whose-name-is-also-very-long-indeed-yes", "production")
    for derive, limit in (
        (names.endpoint, 63 - naming.ENDPOINT_RUNTIME_ROOM),
        (names.model_package_group, 63),
        (names.pipeline, naming.PIPELINE_NAME_LIMIT),
        (lambda m: names.monitoring(m, "data-quality"), 63),
        (lambda m: names.rule(m, "training-schedule"), 64),
    ):
        a, b = derive(LONG_A), derive(LONG_B)
        assert a != b and len(a) <= limit and SAGEMAKER_NAME.fullmatch(a), (a, limit)


# --- run-time names on AWS -------------------------------------------------------------------------

AT = datetime(2026, 11, 24, 12, 30, 5, tzinfo=UTC)
LONGEST_ENDPOINT = AwsNames("p" * 30, "prod").endpoint(LONG_A)


def test_a_model_is_unique_per_deployment_and_the_same_for_a_repeated_event() -> None:
    first = sagemaker_model_name(ENDPOINT, "3", "event-1")
    assert first == f"{ENDPOINT}-v3-{digest('event-1')}"
    assert sagemaker_model_name(ENDPOINT, "3", "event-1") == first  # the same event, delivered again
    assert sagemaker_model_name(ENDPOINT, "3", "event-2") != first  # a re-approval of version 3
    assert sagemaker_model_name(ENDPOINT, "3") == f"{ENDPOINT}-v3"  # batch scoring's one model per version


@pytest.mark.parametrize("version", ["1", "42", "1234", "12345678"])
def test_run_time_names_keep_the_endpoint_the_iam_policies_match_and_their_timestamp(version: str) -> None:
    assert len(LONGEST_ENDPOINT) == 63 - naming.ENDPOINT_RUNTIME_ROOM
    model = sagemaker_model_name(LONGEST_ENDPOINT, version, "event")
    config = endpoint_config_name(LONGEST_ENDPOINT, version, AT)
    job = transform_job_name(LONGEST_ENDPOINT, AT)
    for name in (model, config, job):
        assert len(name) <= 63 and SAGEMAKER_NAME.fullmatch(name), name
    # the deploy and batch functions' roles allow model/<endpoint>-v*, endpoint-config/<endpoint>-v*, transform-job/<endpoint>-batch-*
    assert fnmatchcase(model, f"{LONGEST_ENDPOINT}-v*") and fnmatchcase(config, f"{LONGEST_ENDPOINT}-v*")
    assert fnmatchcase(job, f"{LONGEST_ENDPOINT}-batch-*")
    assert config.endswith("-20261124123005") and job.endswith("-20261124123005")
    assert endpoint_config_name(LONGEST_ENDPOINT, version, AT.replace(second=6)) != config


def test_up_to_four_digit_versions_read_as_they_are() -> None:
    assert endpoint_config_name(LONGEST_ENDPOINT, "1234", AT) == f"{LONGEST_ENDPOINT}-v1234-20261124123005"


# --- the deploy function, against moto ---------------------------------------------------------------


class RefusingWorld:
    """The deploy function's world, where creating a model or an endpoint configuration that exists fails, as in SageMaker."""

    def __init__(self, endpoint: str) -> None:
        self.world = World(endpoint)
        self.running: dict[str, str] = {}
        self.created: list[str] = []
        world = self.world
        self.gap = Gap(
            world.sagemaker,
            {
                "create_model": lambda **p: self._create("model", world.sagemaker.create_model, p["ModelName"], p),
                "create_endpoint_config": lambda **p: self._create(
                    "endpoint configuration", world.sagemaker.create_endpoint_config, p["EndpointConfigName"], p
                ),
                "update_endpoint": self._update,
                "describe_endpoint": self._describe_endpoint,
                "describe_monitoring_schedule": world._describe_schedule,
                "create_monitoring_schedule": world._create_schedule,
                "describe_model_quality_job_definition": world._describe_quality,
                "create_model_quality_job_definition": world._create_quality,
            },
        )

    def _create(self, what: str, create: Any, name: str, params: dict[str, Any]) -> Any:
        if name in self.created:
            error = {"Code": "ValidationException", "Message": f'Cannot create already existing {what} "arn:aws:sagemaker:::{name}".'}
            raise ClientError({"Error": error}, "Create")
        self.created.append(name)
        return create(**params)

    def _update(self, **params: Any) -> Any:
        self.running[params["EndpointName"]] = params["EndpointConfigName"]
        return {"EndpointArn": f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{params['EndpointName']}"}

    def _describe_endpoint(self, **params: Any) -> Any:
        described = self.world.sagemaker.describe_endpoint(**params)
        return {**described, "EndpointConfigName": self.running.get(params["EndpointName"], described["EndpointConfigName"])}

    def deployer(self) -> Deployer:
        world = self.world
        return Deployer({"groups": {GROUP: settings(world.role)}}, self.gap, world.autoscaling, world.s3)


def event(arn: str, event_id: str, time: str) -> dict[str, Any]:
    """An approval as EventBridge delivers it: with its id and time."""
    return {**approved(arn), "id": event_id, "time": time}


def test_a_re_approved_older_version_deploys_and_a_repeated_event_changes_nothing(endpoint: str) -> None:
    world = RefusingWorld(endpoint)
    first = world.world.register()
    second = world.world.register()
    world.world.sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved")
    deployer = world.deployer()
    one = deployer.deploy(event(first, "e-1", "2026-11-24T10:00:00Z"))
    two = deployer.deploy(event(second, "e-2", "2026-11-24T11:00:00Z"))
    assert (one["action"], two["action"]) == ("created", "updated with a canary traffic shift")

    # Rolling back to the first version: before, "<endpoint>-v1" existed and CreateModel failed.
    back = deployer.deploy(event(first, "e-3", "2026-11-24T12:00:00Z"))
    assert back["action"] == "updated with a canary traffic shift" and back["version"] == one["version"]
    assert back["model"] != one["model"] and back["model"].startswith(f"{ENDPOINT}-v{one['version']}-")
    assert back["endpoint_config"] == f"{ENDPOINT}-v{one['version']}-20261124120000"
    assert world.running[ENDPOINT] == back["endpoint_config"]

    # EventBridge delivers at least once: the same event again reuses what it made and leaves the endpoint alone.
    updates = sum(1 for call in world.gap.calls if call[0] == "UpdateEndpoint")
    again = deployer.deploy(event(first, "e-3", "2026-11-24T12:00:00Z"))
    assert (again["model"], again["endpoint_config"]) == (back["model"], back["endpoint_config"])
    assert again["action"] == "already running this version"
    assert sum(1 for call in world.gap.calls if call[0] == "UpdateEndpoint") == updates
    models = [m["ModelName"] for m in world.world.sagemaker.list_models()["Models"] if m["ModelName"].startswith(ENDPOINT)]
    assert sorted(models) == sorted({one["model"], two["model"], back["model"]})


# --- a platform with two long model names, planned on both targets -----------------------------------


def platform_data() -> dict[str, Any]:
    features = [{"name": n, "dtype": "int64"} for n in ("tenure_months", "sessions", "spend")]

    def model(name: str, monitors: str) -> dict[str, Any]:
        return {
            "name": name,
            "task": "classification",
            "features": ["customer_activity:tenure_months", "customer_activity:sessions"],
            "label": {"source": "labels", "column": "churned"},
            "training": {
                "estimator": "sklearn.linear_model.LogisticRegression",
                "gate": {"metric": "roc_auc", "threshold": 0.7},
                "schedule": "0 3 * * 1",
            },
            "registry": {"approval": "automatic"},
            "serving": {
                "replicas": 2,
                "autoscaling": {"min_replicas": 2, "max_replicas": 4},
                "canary": {"percent": 10, "rollback_on": [f"{monitors}-latency"]},
                "batch": {"schedule": "0 5 * * 1", "input": "raw/score", "output": "scores/"},
            },
            "monitors": [
                {
                    "kind": "data_drift",
                    "name": f"{monitors}-drift",
                    "features": ["customer_activity:sessions"],
                    "method": "ks",
                    "threshold": 0.1,
                },
                {"kind": "latency", "name": f"{monitors}-latency", "threshold": "250ms"},
                {"kind": "model_quality", "name": f"{monitors}-quality", "metric": "roc_auc", "threshold": 0.7},
            ],
            "retraining": {"triggers": [{"kind": "alert", "alert": f"{monitors}-drift"}, {"kind": "schedule", "cron": "0 4 * * 0"}]},
        }

    return {
        "name": "retail-analytics",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1",
        "feature_store": {
            "project": "shop",
            "entities": [{"name": "customer", "join_key": "customer_id"}],
            "sources": [{"name": "activity", "path": "raw/activity"}, {"name": "labels", "path": "raw/labels"}],
            "feature_views": [{"name": "customer_activity", "entities": ["customer"], "source": "activity", "features": features}],
        },
        "models": [model(LONG_A, LONG_A), model(LONG_B, LONG_B)],
        "notifications": [
            {"kind": "email", "name": "team", "to": ["ml@example.com"], "sender": "a@example.com", "smarthost": "smtp.example.com:587"},
            {
                "kind": "slack",
                "name": "a-slack-channel-with-a-name-long-enough-to-matter",
                "channel": "#ml",
                "webhook_url_secret": "slackUrl",
            },
        ],
        "environments": {
            "dev": {"target": {"kind": "kubernetes", "gateway": "gateway-system/internal"}, "stage": "dev"},
            "production": {"target": {"kind": "aws", "region": "eu-west-1"}, "stage": "prod"},
        },
    }


@pytest.fixture(scope="module")
def long_platform() -> dict[str, ResolvedSpec]:
    return resolve_data(platform_data(), source="long-names.py")


def plan(resolved: ResolvedSpec) -> MockRun:
    from components.platform import build_platform, secret_config_names

    def program() -> None:
        build_platform(resolved)

    secrets = secret_config_names(resolved)
    return run_under_mocks(
        program,
        project="mlops",
        stack="names",
        config={f"mlops:{name}": "stand-in" for name in secrets},
        secret_keys=[f"mlops:{name}" for name in secrets],
    )


KUBERNETES_KIND_LIMITS = {"CronJob": 52, "StatefulSet": 52}


def test_two_long_models_deploy_on_kubernetes_with_every_name_apart_and_within_its_kind(long_platform: dict[str, ResolvedSpec]) -> None:
    run = plan(long_platform["dev"])
    seen: Counter[tuple[str, str, str]] = Counter()
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or not resource.custom:
            continue
        manifest = reveal(resource.inputs)
        kind, metadata = manifest["kind"], manifest["metadata"]
        limit = KUBERNETES_KIND_LIMITS.get(kind, 63)
        assert len(metadata["name"]) <= limit and DNS_LABEL.fullmatch(metadata["name"]), (kind, metadata["name"])
        seen[(kind, metadata.get("namespace", ""), metadata["name"])] += 1
    assert not [key for key, count in seen.items() if count > 1]
    deployments = {name for kind, _, name in seen if kind == "Deployment"}
    assert len([n for n in deployments if n.startswith("retail-analytics-customer-churn")]) == 4  # stable and canary, each model
    assert len(Counter(r.urn for r in run.resources)) == len(run.resources)


# (type token, the input holding the name, the kind's limit); autonamed ones are the logical name and Pulumi's suffix
AWS_NAMES = {
    "aws:iam/role:Role": ("name", AWS_LIMITS["role"]),
    "aws:iam/rolePolicy:RolePolicy": ("name", AWS_LIMITS["role_policy"]),
    "aws:lambda/permission:Permission": ("statementId", AWS_LIMITS["lambda_permission"]),
    "aws:cloudwatch/eventTarget:EventTarget": ("targetId", AWS_LIMITS["event_target"]),
    "aws:lambda/function:Function": ("name", AWS_LIMITS["function"]),
    "aws:cloudwatch/eventRule:EventRule": ("name", AWS_LIMITS["rule"]),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", AWS_LIMITS["alarm"]),
    "aws:dynamodb/table:Table": ("name", AWS_LIMITS["table"]),
    "aws:sns/topic:Topic": ("name", AWS_LIMITS["topic"]),
    "aws:kms/alias:Alias": ("name", AWS_LIMITS["kms_alias"]),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName", AWS_LIMITS["pipeline"]),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", AWS_LIMITS["model_package_group"]),
    "aws:sagemaker/featureGroup:FeatureGroup": ("featureGroupName", AWS_LIMITS["feature_group"]),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("name", AWS_LIMITS["job_definition"]),
    "aws:s3/bucket:Bucket": ("bucketPrefix", AWS_LIMITS["bucket_prefix"]),
}
AUTONAMED_TYPES = {
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:lambda/permission:Permission",
    "aws:cloudwatch/eventTarget:EventTarget",
}


def test_two_long_models_deploy_on_aws_with_every_name_apart_and_within_its_service(long_platform: dict[str, ResolvedSpec]) -> None:
    resolved = long_platform["production"]
    run = plan(resolved)
    seen: Counter[tuple[str, str]] = Counter()
    autonamed_too_long = 0
    for resource in run.resources:
        if resource.type not in AWS_NAMES:
            continue
        field, limit = AWS_NAMES[resource.type]
        name = reveal(resource.inputs).get(field)
        if name is None:
            assert resource.type in AUTONAMED_TYPES, resource.name
            name = resource.name + "-" + "x" * (AUTONAME_SUFFIX - 1)
        else:
            autonamed_too_long += resource.type in AUTONAMED_TYPES
        assert len(name) <= limit, (resource.type, name, len(name), limit)
        seen[(resource.type, name)] += 1
    assert not [key for key, count in seen.items() if count > 1]
    assert autonamed_too_long > 0  # the long logical names did need explicit names
    names = AwsNames(resolved.platform.name, resolved.environment)
    for model in (LONG_A, LONG_B):
        assert len(names.endpoint(model)) + naming.ENDPOINT_RUNTIME_ROOM <= 63
    assert len(Counter(r.urn for r in run.resources)) == len(run.resources)


# --- mlops validate derives the names the components create ------------------------------------------

AWS_KINDS = {
    "Lambda function": ("aws:lambda/function:Function", "name"),
    "EventBridge rule": ("aws:cloudwatch/eventRule:EventRule", "name"),
    "DynamoDB table": ("aws:dynamodb/table:Table", "name"),
    "SNS topic": ("aws:sns/topic:Topic", "name"),
    "CloudWatch alarm": ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"),
    "SageMaker feature group": ("aws:sagemaker/featureGroup:FeatureGroup", "featureGroupName"),
    "SageMaker model package group": ("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "modelPackageGroupName"),
    "SageMaker pipeline": ("aws:sagemaker/pipeline:Pipeline", "pipelineName"),
    "SageMaker data-quality job definition": ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "name"),
}
"""The kinds the plan declares (endpoints, schedules and model-quality jobs the deploy function creates at run time)."""


def test_the_names_validate_checks_are_the_names_kubernetes_gets(long_platform: dict[str, ResolvedSpec]) -> None:
    resolved = long_platform["dev"]
    run = plan(resolved)
    declared = {
        (m["kind"], m["metadata"]["name"])
        for m in (reveal(r.inputs) for r in plan(resolved).resources if r.type.startswith("kubernetes:") and r.custom)
    }
    derived = {(d.kind, d.name) for d in derived_names(resolved.platform, "dev") if not d.kind.startswith("Pulumi resource")}
    assert derived and derived <= declared, sorted(derived - declared)
    assert {kind for kind, _ in declared} - {kind for kind, _ in derived} == {"Namespace"}  # every other kind is checked
    logical = {d.name for d in derived_names(resolved.platform, "dev") if d.kind.startswith("Pulumi resource")}
    assert logical and logical <= {r.name for r in run.resources}


def test_a_model_named_like_anothers_canary_is_refused_before_pulumi_refuses_its_resources() -> None:
    data = platform_data()
    data["models"][1]["name"] = f"{LONG_A}-canary"  # '<a>-canary-deployment': the canary of '<a>', the stable Deployment of '<a>-canary'
    with pytest.raises(SpecError) as refused:
        resolve_data(data, source="canary.py")
    collisions = [p for p in refused.value.problems if "both become" in p.message]
    assert [p.path for p in collisions] == [f"models.{LONG_A}-canary"] * 2  # its Deployment and its Service
    assert "Pulumi resource (Deployment)" in collisions[0].message and "Pulumi resource (Service)" in collisions[1].message
    assert f"(models.{LONG_A})" in collisions[0].message and "[dev]" in collisions[0].render()


def test_the_names_validate_checks_are_the_names_aws_gets(long_platform: dict[str, ResolvedSpec]) -> None:
    resolved = long_platform["production"]
    run = plan(resolved)
    derived = derived_names(resolved.platform, "production")
    checked = [d for d in derived if d.kind in AWS_KINDS]
    assert len({d.kind for d in checked}) == len(AWS_KINDS)
    for item in checked:
        token, field = AWS_KINDS[item.kind]
        assert item.name in {reveal(r.inputs).get(field) for r in run.of_type(token)}, (item.kind, item.name)
    endpoints = {d.name for d in derived if d.kind == "SageMaker endpoint"}
    deploy = next(reveal(f.inputs) for f in run.of_type("aws:lambda/function:Function") if "deploy" in f.inputs["handler"])
    assert endpoints == {s["endpoint"] for s in json.loads(deploy["environment"]["variables"]["MLOPS_DEPLOY_CONFIG"])["groups"].values()}


def test_names_that_stay_apart_pass_and_names_that_meet_are_refused_with_both_paths(long_platform: dict[str, ResolvedSpec]) -> None:
    platform = long_platform["production"].platform
    assert check_names(platform, "production") == [] and check_names(platform, "dev") == []
    data = platform_data()
    data["models"][0]["monitors"].append({"kind": "latency", "name": "v2-latency", "threshold": "1s"})
    data["models"][1]["name"] = f"{LONG_A}-v2"  # '<a>' with 'v2-latency' meets '<a>-v2' with 'latency'
    data["models"][1]["monitors"].append({"kind": "latency", "name": "latency", "threshold": "1s"})
    try:
        resolve_data(data, source="meet.py")
    except SpecError as error:
        lines = [p.render() for p in error.problems if "both become" in p.message]
    else:
        raise AssertionError("the colliding alarms were accepted")
    [line] = lines
    assert f"models.{LONG_A}-v2.monitors.latency:" in line and f"(models.{LONG_A}.monitors.v2-latency)" in line
    assert "CloudWatch alarm" in line and "[production]" in line
