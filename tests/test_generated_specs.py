"""The promise, tested by generation: a spec that validates deploys.

Hypothesis builds platforms in the shape of the spec's own models (names,
numbers, durations and schedules of models, serving, training, monitors,
retraining and the feature store; long names, names that differ only where
normalising would join them, edge numbers, crons Kubernetes or EventBridge
refuse, many drift features) and, for a Kubernetes and an AWS environment each, asserts one of
two things:

* the loader refuses it, every problem on one line with the field path it is
  about (what `mlops validate` prints, with exit code 2); or
* every target's program, run under Pulumi's mocks, declares only what the
  target accepts: Kubernetes objects valid against the API's OpenAPI schema
  (custom resources against their CRDs, the rules passing promtool and the
  routing amtool), names within each kind's limit (52 for CronJobs and StatefulSets) and
  unique per kind and namespace, label values within 63; AWS physical names
  within each service's limit (autonamed ones with Pulumi's suffix), unique per
  service, at most 10 metric queries per alarm; and every input strict JSON
  (no NaN or infinity) — and the names the runtime creates are unique.

The checks here are written independently of the naming module, from the
targets' documentation, so a wrong limit there fails here.

CI runs the ``ci`` profile (fixed seed, a bounded number of examples); run
longer with ``pytest tests/test_generated_specs.py --hypothesis-profile long``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import string
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import event, given, note
from hypothesis import strategies as st

from mlops_dsl.loading.loader import ResolvedSpec, resolve_data
from mlops_dsl.review.mocks import MockRun, reveal, run_under_mocks
from mlops_dsl.spec.problems import SpecError
from tests.helpers.kubernetes import alertmanager_config_from, custom_results

PROMTOOL = shutil.which("promtool") or "promtool"
AMTOOL = shutil.which("amtool") or "amtool"

pytestmark = pytest.mark.slow

# --- names and values: mostly valid, sometimes at or over an edge ---------------------------------------

LOWER = string.ascii_lowercase
NAME_CHARS = LOWER + string.digits + "-"


@st.composite
def names(draw: st.DrawFn, max_size: int = 63, wild: bool = True) -> str:
    """A Name: long often, with '--' sometimes; when ``wild``, also over 63 or with a trailing newline, capital or non-ASCII digit."""
    size = draw(st.sampled_from([1, 3, 8, 20, 27, 30, 40, 50, 52, 53, 60, 63, 64]))
    size = min(size, max_size + 1 if wild else max_size)
    head = draw(st.sampled_from(LOWER))
    body = draw(st.text(NAME_CHARS, min_size=size - 1, max_size=size - 1)) if size > 1 else ""
    text = (head + body).rstrip("-") or head
    edge = draw(st.sampled_from(["", "", "", "", "", "\n", "-", "A", "٢"])) if wild else ""
    return text + edge


@st.composite
def identifiers(draw: st.DrawFn) -> str:
    size = draw(st.sampled_from([1, 5, 12, 30, 63]))
    head = draw(st.sampled_from(LOWER + "_"))
    body = draw(st.text(LOWER + string.digits + "_", min_size=size - 1, max_size=size - 1))
    return head + body


def numbers(low: float, high: float, *, wild: bool, integer: bool = False) -> st.SearchStrategy[Any]:
    """Values for a number field: in range; when ``wild``, edges, NaN, infinity, strings and booleans a quarter of the time."""
    inside: st.SearchStrategy[Any] = st.integers(int(low), int(high)) if integer else st.floats(low, high, allow_nan=False)
    if not wild:
        return inside
    edges = st.sampled_from([low, high, low - 1, high + 1, 0, -1, math.nan, math.inf, -math.inf, True, "3", 3.5, 10**12])
    return st.one_of(inside, inside, inside, edges)


CRONS_EVERYWHERE = ["0 3 * * 1", "*/30 * * * *", "15 2 * * *", "0 0 1 * *", "@daily", "@hourly", "0 12 * * MON-FRI", "0 3 1,15 * *"]
"""Schedules Kubernetes, EventBridge and croniter all accept."""
CRONS = [
    "0 3 * * 1",
    "*/30 * * * *",
    "15 2 * * *",
    "0 0 1 * *",
    "@daily",
    "@hourly",
    "0 12 * * MON-FRI",
    "0 0 31 2 *",  # never fires
    "0 0 30 2 *",  # never fires
    "0 3 L * *",  # croniter only
    "0 3 * * 1#2",  # croniter only
    "0 3 * * 5L",
    "0 3 1,15 * *",
    "0 3 1 * 1",  # day-of-month and weekday: EventBridge cannot say both
    "61 * * * *",
    "* * * * * *",
]
DURATIONS = ["30s", "5m", "1h", "15m", "1h30m", "2d", "0s", "99999999999999d", "250ms", "1w"]
HYPERPARAMETERS: dict[str, list[dict[str, Any]]] = {
    "sklearn.linear_model.LogisticRegression": [{"max_iter": 200}, {"C": 0.5}],
    "sklearn.ensemble.RandomForestClassifier": [{"n_estimators": 50, "max_depth": 4}],
    "sklearn.ensemble.RandomForestClasifier": [{}],
    "sklearn.linear_model.Ridge": [{"alpha": 0.5}],
    "sklearn.ensemble.GradientBoostingRegressor": [{"learning_rate": 0.05}],
}
METRICS = {"classification": ["roc_auc", "accuracy", "f1", "precision", "recall"], "regression": ["rmse", "mae", "r2"]}


@st.composite
def platforms(draw: st.DrawFn) -> dict[str, Any]:
    """A whole platform as the plain data the loader validates, with a kubernetes and an aws environment.

    Half the platforms are *wild* (any value may be at or over an edge, so most are refused), half keep every
    value in range and vary only what the loader cannot see field by field: long names, names that normalise
    alike, many drift features, schedules, both targets.
    """
    wild = draw(st.booleans())
    event("wild" if wild else "in range")
    crons = st.sampled_from(CRONS if wild else CRONS_EVERYWHERE)
    durations = st.sampled_from(DURATIONS if wild else [d for d in DURATIONS if d not in ("0s", "99999999999999d")])
    view = draw(identifiers())
    extra = draw(st.integers(0, 12))
    feature_names = ["tenure_months", "sessions", "spend", *[f"f{i}" for i in range(extra)]]
    if wild and draw(st.integers(0, 3)) == 0:
        feature_names.append(draw(st.sampled_from(["customer_id", "event_timestamp"])))
    features = [{"name": n, "dtype": "float64" if n.startswith("f") else "int64"} for n in feature_names]
    references = [f"{view}:{n}" for n in feature_names]

    model_names = [draw(names(wild=wild)), draw(names(wild=wild))]
    if draw(st.integers(0, 5)) == 0:  # names that only normalising or a suffix tells apart
        base = model_names[0].strip()
        model_names[1] = draw(st.sampled_from([base.replace("-", "--", 1), f"{base}-server", f"{base}-canary", base]))
    models = []
    for index, model_name in enumerate(model_names):
        task = "classification" if index == 0 else "regression"
        metric = draw(st.sampled_from(METRICS[task]))
        monitor_prefix = draw(names(max_size=40, wild=wild)).strip() or "m"
        drift_features = draw(st.lists(st.sampled_from(references), min_size=1, max_size=len(references), unique=True))
        monitors: list[dict[str, Any]] = [
            {
                "kind": "data_drift",
                "name": f"{monitor_prefix}-drift"[:63],
                "features": drift_features,
                "method": draw(st.sampled_from(["ks", "psi"])) if wild else "ks",  # AWS measures drift with KS only
                "threshold": draw(numbers(0.01, 1.0, wild=wild)),
                "window": draw(durations),
            },
            {"kind": "latency", "name": f"{monitor_prefix}-latency"[:63], "threshold": draw(durations)},
            {"kind": "error_rate", "name": f"{monitor_prefix}-errors"[:63], "threshold": draw(numbers(0.001, 0.5, wild=wild))},
            {
                "kind": "model_quality",
                "name": f"{monitor_prefix}-quality"[:63],
                "metric": metric,
                "threshold": draw(st.one_of(numbers(0.0, 1.0, wild=wild), st.sampled_from([75, 1e9]) if wild else st.nothing())),
            },
        ]
        serving: dict[str, Any] = {
            "replicas": draw(numbers(1, 6, integer=True, wild=wild)),
            "online": draw(st.booleans()) if wild else True,
        }
        if draw(st.booleans()):
            low = draw(st.integers(1, 4))
            scale_on = draw(st.sampled_from(["cpu", "requests_per_second"]))
            serving["autoscaling"] = {
                "min_replicas": low,
                "max_replicas": draw(numbers(low, 20, integer=True, wild=wild)),
                "metric": scale_on,
                "target": draw(numbers(1, 100, integer=True, wild=wild) if scale_on == "cpu" else numbers(0.5, 5000, wild=wild)),
            }
            if not wild:
                serving["replicas"] = low
        if draw(st.booleans()):
            serving["batch"] = {"schedule": draw(crons), "input": "raw/score", "output": "scores/"}
        training: dict[str, Any] = {
            "estimator": draw(
                st.sampled_from(
                    ["sklearn.linear_model.LogisticRegression", "sklearn.ensemble.RandomForestClassifier"]
                    + (["sklearn.ensemble.RandomForestClasifier"] if wild else [])
                    if task == "classification"
                    else ["sklearn.linear_model.Ridge", "sklearn.ensemble.GradientBoostingRegressor"]
                )
            ),
            "gate": {"metric": metric, "threshold": draw(numbers(0.0, 1.0, wild=wild))},
            "timeout": draw(durations),
        }
        if draw(st.booleans()):
            training["hyperparameters"] = draw(
                st.sampled_from(HYPERPARAMETERS[training["estimator"]] + ([{"n_estimator": 50}, {"alpha": math.nan}] if wild else []))
            )
        if draw(st.booleans()):
            training["schedule"] = draw(crons)
        triggers: list[dict[str, Any]] = [{"kind": "alert", "alert": monitors[0]["name"]}]
        if draw(st.booleans()):
            triggers.append({"kind": "schedule", "cron": draw(crons)})
        if draw(st.booleans()):
            triggers.append({"kind": "new_data", "source": "labels", "min_new_rows": draw(numbers(1, 10_000, integer=True, wild=wild))})
        model: dict[str, Any] = {
            "name": model_name,
            "task": task,
            "features": sorted(set(references[:2]) | set(drift_features)),
            "label": {"source": "labels", "column": "churned" if task == "classification" else "spend_next_90d"},
            "training": training,
            "registry": {"approval": "automatic"},
            "serving": serving,
            "monitors": monitors,
            "retraining": {"triggers": triggers},
        }
        if draw(st.integers(0, 3)) == 0 and (wild or serving["online"]):
            model["serving"]["canary"] = {"percent": draw(numbers(1, 99, integer=True, wild=wild)), "rollback_on": [monitors[2]["name"]]}
        models.append(model)

    platform_name = draw(names(wild=wild))
    kubernetes: dict[str, Any] = {"kind": "kubernetes", "gateway": "gateway-system/internal"}
    if draw(st.booleans()):
        kubernetes["namespace"] = draw(names(wild=wild))
    return {
        "name": platform_name,
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1",
        "feature_store": {
            "project": "shop",
            "entities": [{"name": "customer", "join_key": "customer_id"}],
            "sources": [{"name": "activity", "path": "raw/activity"}, {"name": "labels", "path": "raw/labels"}],
            "feature_views": [{"name": view, "entities": ["customer"], "source": "activity", "features": features}],
            "materialization": {"schedule": draw(crons)},
        },
        "models": models,
        "notifications": [
            {"kind": "email", "name": "team", "to": ["ml@example.com"], "sender": "a@example.com", "smarthost": "smtp.example.com:587"}
        ],
        "environments": {
            draw(st.sampled_from(["dev", "staging-eu", "x" * 20])): {"target": kubernetes, "stage": "staging"},
            "prod": {"target": {"kind": "aws", "region": "eu-west-1"}, "stage": "prod"},
        },
    }


# --- what each target accepts, from its documentation ---------------------------------------------------

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", re.ASCII)
KUBERNETES_NAME_LIMITS = {"CronJob": 52, "StatefulSet": 52}  # the controllers append suffixes to derived names
STAND_IN_SECRET = "stand-in"

# (type token, name input): the service's limit. Autonamed resources get Pulumi's 8-character suffix.
AWS_NAME_LIMITS = {
    "aws:iam/role:Role": 64,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:lambda/function:Function": 64,
    "aws:cloudwatch/eventRule:EventRule": 64,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 255,
    "aws:dynamodb/table:Table": 255,
    "aws:sns/topic:Topic": 256,
    "aws:kms/alias:Alias": 256,
    "aws:sagemaker/pipeline:Pipeline": 256,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": 63,
    "aws:sagemaker/featureGroup:FeatureGroup": 64,
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": 63,
    "aws:sagemaker/modelQualityJobDefinition:ModelQualityJobDefinition": 63,
    "aws:cloudwatch/logGroup:LogGroup": 512,
}
EXPLICIT_NAME_INPUTS = ("name", "pipelineName", "modelPackageGroupName", "featureGroupName", "jobDefinitionName")
PULUMI_SUFFIX = 8  # "-" and seven random hex characters


def strict_json(value: Any, where: str) -> None:
    """Fails on NaN or infinity anywhere in ``value``, also inside strings that hold JSON documents."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"{where}: {token} in a JSON document")

    json.dumps(value, allow_nan=False, default=lambda asset: type(asset).__name__)  # assets (the function archive) are files
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item[:1] in "{[":
            with contextlib.suppress(json.JSONDecodeError):  # text that only looks like JSON
                json.loads(item, parse_constant=refuse)


def run_target(resolved: ResolvedSpec) -> MockRun:
    from components.platform import build_platform, secret_config_names

    secrets = secret_config_names(resolved)

    def program() -> None:
        build_platform(resolved)

    return run_under_mocks(
        program,
        project="mlops",
        stack="generated",
        config={f"mlops:{name}": STAND_IN_SECRET for name in secrets},
        secret_keys=[f"mlops:{name}" for name in secrets],
    )


def check_kubernetes(run: MockRun) -> None:
    manifests = [reveal(r.inputs) for r in run.resources if r.type.startswith("kubernetes:") and r.custom]
    seen: Counter[tuple[str, str, str]] = Counter()
    for manifest in manifests:
        strict_json(manifest, f"{manifest.get('kind')}")
        kind = manifest["kind"]
        metadata = manifest["metadata"]
        name = metadata["name"]
        limit = KUBERNETES_NAME_LIMITS.get(kind, 63)
        assert len(name) <= limit and DNS_LABEL.fullmatch(name), f"{kind} name {name!r} ({len(name)} characters, limit {limit})"
        for key, value in (metadata.get("labels") or {}).items():
            assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), f"{kind} {name}: label {key}={value!r}"
        seen[(manifest["apiVersion"].split("/")[0] + "/" + kind, metadata.get("namespace", ""), name)] += 1
        if not manifest["apiVersion"].startswith(("monitoring.coreos.com/", "gateway.networking.k8s.io/")):
            try:
                kubernetes_validate.validate(manifest, "1.36.0", strict=True)
            except kubernetes_validate.ValidationError as error:
                raise AssertionError(f"{kind} {name}: {error.message} at {'/'.join(map(str, error.path))}") from None
    duplicates = [key for key, count in seen.items() if count > 1]
    assert not duplicates, f"objects declared twice: {duplicates}"
    check_monitoring_tools(manifests)


def check_monitoring_tools(manifests: list[dict[str, Any]]) -> None:
    """Custom resources against their CRD schemas; the alert rules with promtool; the routing with amtool."""
    invalid = [r for r in custom_results(manifests) if not r["ok"]]
    assert not invalid, invalid
    [rule] = [m for m in manifests if m["kind"] == "PrometheusRule"]
    [routing] = [m for m in manifests if m["kind"] == "AlertmanagerConfig"]
    with tempfile.TemporaryDirectory() as scratch:
        rules, config = Path(scratch) / "rules.yml", Path(scratch) / "alertmanager.yml"
        rules.write_text(yaml.safe_dump(rule["spec"]))
        config.write_text(yaml.safe_dump(alertmanager_config_from(routing, Path(scratch))))
        for command in ([PROMTOOL, "check", "rules", str(rules)], [AMTOOL, "check-config", str(config)]):
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stdout + result.stderr


def physical_name(type_token: str, logical: str, inputs: dict[str, Any]) -> tuple[str, bool]:
    """The name AWS gets: the explicit one, or (autonamed) the logical name with Pulumi's suffix."""
    for key in EXPLICIT_NAME_INPUTS:
        if isinstance(inputs.get(key), str) and inputs[key]:
            return inputs[key], False
    return logical + "-" + "x" * (PULUMI_SUFFIX - 1), True


def check_aws(run: MockRun) -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for resource in run.resources:
        if not resource.type.startswith("aws:") or not resource.custom:
            continue
        inputs = reveal(resource.inputs)
        strict_json(inputs, f"{resource.type} {resource.name}")
        if resource.type == "aws:s3/bucket:Bucket" or resource.type.startswith("aws:s3/bucketV2"):
            prefix = inputs.get("bucketPrefix")
            if prefix is not None:
                assert len(prefix) <= 37, f"bucket prefix {prefix!r} ({len(prefix)} characters, the provider allows 37)"
        if resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            queries = inputs.get("metricQueries") or []
            assert len(queries) <= 10, f"alarm {inputs.get('name')} has {len(queries)} metric queries; PutMetricAlarm allows 10"
        limit = AWS_NAME_LIMITS.get(resource.type)
        if limit is None:
            continue
        name, _autonamed = physical_name(resource.type, resource.name, inputs)
        if resource.type == "aws:kms/alias:Alias":
            name = name.removeprefix("alias/")
        assert len(name) <= limit, f"{resource.type} name {name!r} ({len(name)} characters, limit {limit})"
        seen[(resource.type, name)] += 1
    duplicates = [key for key, count in seen.items() if count > 1]
    assert not duplicates, f"AWS names declared twice: {duplicates}"


def check_runtime_names(resolved: ResolvedSpec) -> None:
    """The names the trigger and the deploy and batch functions create at run time: unique per run and rollout, within 63."""
    from datetime import UTC, datetime, timedelta

    from mlops_dsl.contracts import names as naming

    models = [m.name for m in resolved.platform.models]
    if resolved.target.kind == "kubernetes":
        # Run ids as the trigger makes them: the model, the second it started, a random part.
        runs = [f"{model}-20261201-030000-{random}" for model in models for random in ("a1b2c3", "d4e5f6")]
        job_names = {naming.retraining_job_name(run.rsplit("-", 3)[0], run) for run in runs}
        assert len(job_names) == len(runs), f"two runs share a Job name: {sorted(job_names)}"
        assert all(len(job) <= 63 and DNS_LABEL.fullmatch(job) for job in job_names), job_names
        return
    aws = naming.AwsNames(resolved.platform.name, resolved.environment)
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    made: list[str] = []
    for model in models:
        endpoint = aws.endpoint(model)
        rollouts = [naming.sagemaker_model_name(endpoint, "7", approval) for approval in ("event-1", "event-2")]
        configs = [naming.endpoint_config_name(endpoint, "7", at + timedelta(seconds=s)) for s in (0, 1)]
        jobs = [naming.transform_job_name(endpoint, at + timedelta(seconds=s)) for s in (0, 1)]
        # The deploy function's IAM policy matches these by their start.
        assert all(name.startswith(f"{endpoint}-v") for name in rollouts + configs), rollouts + configs
        assert all(name.startswith(f"{endpoint}-batch-") for name in jobs), jobs
        made += rollouts + configs + jobs
    assert len(set(made)) == len(made), f"run-time names repeat: {sorted(made)}"
    assert all(len(name) <= 63 for name in made), [n for n in made if len(n) > 63]


def check_refusal(error: SpecError) -> None:
    for problem in error.problems:
        line = problem.render()
        assert "\n" not in line, f"a problem on more than one line: {line!r}"
        assert problem.path, f"a problem without a field path: {line!r}"


@given(platforms())
def test_a_generated_spec_is_refused_with_a_path_or_deploys_on_every_target(data: dict[str, Any]) -> None:
    try:
        resolved = resolve_data(data, source="generated.py")
    except SpecError as error:
        event("refused by validate")
        for problem in error.problems:
            event(f"refused: {re.sub(r'[0-9]+', 'N', problem.path.split('.')[-1])}")
        check_refusal(error)
        return
    event("validated, then planned on both targets")
    for environment, spec in resolved.items():
        note(f"environment {environment} ({spec.target.kind})")
        run = run_target(spec)
        if spec.target.kind == "kubernetes":
            check_kubernetes(run)
        else:
            check_aws(run)
        check_runtime_names(spec)
