"""Build the platform graph from a resolved spec, and from a stack's resources when there is a run.

The spec gives the parts and how data flows through them: sources feed
feature views, the offline store feeds each model's training pipeline, the
pipeline registers versions, the registry deploys them to serving, monitors
watch serving, alerts notify channels and start retraining, which runs the
pipeline again. That last cycle is the retraining loop, drawn in bold.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, assert_never

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.rendering.alerting import channels_of, retrains_on
from mlops_dsl.review.graph.model import PlatformGraph
from mlops_dsl.spec.monitoring import (
    Channel,
    DataDrift,
    Email,
    ErrorRate,
    Latency,
    ModelQuality,
    Monitor,
    PagerDuty,
    PredictionDrift,
    Slack,
    Webhook,
)
from mlops_dsl.spec.platform import Model, Platform
from mlops_dsl.spec.retraining import OnNewData, OnSchedule
from mlops_dsl.spec.training import LOWER_IS_BETTER

if TYPE_CHECKING:
    from mlops_dsl.review.graph.resources import ResourceGroup

# How each target realizes the shared parts, for the labels.
_OFFLINE = {"local": "Parquet files", "kubernetes": "shared volume (ReadWriteMany)", "aws": "S3 + Glue (SageMaker Feature Store)"}
_ONLINE = {"sqlite": "SQLite", "redis": "Redis", "sagemaker": "SageMaker Feature Store", "dynamodb": "DynamoDB"}
_REGISTRY = {"local": "MLflow", "kubernetes": "MLflow", "aws": "SageMaker model package group"}
_ENDPOINT = {"local": "model server process", "kubernetes": "Deployment", "aws": "SageMaker endpoint"}
_ALERTING = {
    "local": ("Prometheus alert rules", "Alertmanager"),
    "kubernetes": ("Prometheus alert rules", "Alertmanager (AlertmanagerConfig)"),
    "aws": ("CloudWatch alarms", "SNS topics and EventBridge"),
}
_TRIGGER = {"local": "webhook process", "kubernetes": "webhook Deployment, creates Jobs", "aws": "Lambda, starts the SageMaker pipeline"}
_PIPELINE = {"local": "local process", "kubernetes": "Kubernetes Job", "aws": "SageMaker pipeline"}


def platform_graph(spec: ResolvedSpec, resources: list[ResourceGroup] | None = None, stack: str | None = None) -> PlatformGraph:
    """The graph of one environment of a platform (and, given them, the resources its stack creates)."""
    platform = spec.platform
    target = spec.target.kind
    where = f"stack {stack}" if stack else f"environment {spec.environment}"
    graph = PlatformGraph(f"{platform.name}: {where} ({target}, {spec.stage})")
    graph.part_titles["registry"] = f"Model registry ({_REGISTRY[target]})"
    _feature_store(graph, platform, target)
    alerting = _alerting(graph, platform, target)
    trigger = _trigger(graph, platform, target)
    for model in platform.models:
        _model(graph, platform, model, target, alerting, trigger)
    for group in resources or []:
        _resources(graph, group)
    return graph


def _feature_store(graph: PlatformGraph, platform: Platform, target: str) -> None:
    store = platform.feature_store
    for source in store.sources:
        graph.add(("source", source.name), [source.name, f"{source.path} ({source.format})"], "source", "sources")
    size = f", {store.offline_store.kubernetes.volume_size}" if target == "kubernetes" else ""
    offline_id = graph.add(("store", "offline"), ["Offline store", _OFFLINE[target] + size], "store", "feature_store")
    for view in store.feature_views:
        view_id = graph.add(
            ("view", view.name),
            [view.name, f"{len(view.features)} features, ttl {_duration(view.ttl)}" + (", online" if view.online else "")],
            "view",
            "feature_store",
        )
        graph.connect(graph.node_id("source", view.source), view_id)
        graph.connect(view_id, offline_id)
    if any(view.online for view in store.feature_views):
        online = getattr(store.online_store, target)
        memory = f", {online.memory}" if online.kind == "redis" else ""
        online_id = graph.add(("store", "online"), ["Online store", _ONLINE[online.kind] + memory], "store", "feature_store")
        graph.connect(offline_id, online_id, f"materialize {store.materialization.schedule}")


def _channel_detail(channel: Channel) -> str:
    """What the graph shows of a channel beside its kind: the Slack channel, the addresses."""
    match channel:
        case Slack():
            return channel.channel
        case Email():
            return ", ".join(channel.to)
        case PagerDuty() | Webhook():
            return ""
        case _:
            assert_never(channel)


def _alerting(graph: PlatformGraph, platform: Platform, target: str) -> str | None:
    if not any(model.monitors for model in platform.models):
        return None
    rules, router = _ALERTING[target]
    alerts = sum(len(model.monitors) for model in platform.models)
    alerting_id = graph.add(("alerting",), ["Alerts", f"{alerts} {rules}", f"routed by {router}"], "alerting", "alerting")
    for channel in platform.notifications:
        detail = _channel_detail(channel)
        graph.add(("channel", channel.name), [channel.name, f"{channel.kind} {detail}".strip()], "channel", "alerting")
    for channel in platform.notifications:
        notified = [m.name for model in platform.models for m in model.monitors if channel.name in channels_of(platform, m)]
        if notified:
            graph.connect(alerting_id, graph.node_id("channel", channel.name), _count(len(notified), "alert"))
    return alerting_id


def _trigger(graph: PlatformGraph, platform: Platform, target: str) -> str | None:
    if not any(model.retraining.triggers for model in platform.models):
        return None
    auth = platform.retraining_webhook.auth
    lines = ["Retraining trigger", _TRIGGER[target], "dedup, cooldown and run limits per model"]
    if target != "aws":
        lines.append(f"{auth} authentication")
    return graph.add(("trigger",), lines, "trigger", "retraining")


def _model(graph: PlatformGraph, platform: Platform, model: Model, target: str, alerting: str | None, trigger: str | None) -> None:
    first = _training(graph, platform, model, target)
    registry = _registry(graph, model)
    graph.connect(graph.node_id("model", model.name, "register"), registry, "new version", "loop")
    watched = _serving(graph, model, target, registry)
    _monitors(graph, platform, model, watched, alerting)
    if trigger is not None:
        _retraining(graph, model, trigger, alerting, first)


def _training(graph: PlatformGraph, platform: Platform, model: Model, target: str) -> str:
    training = model.training
    group = f"training-{model.name}"
    graph.group_titles[group] = f"{model.name}: {_PIPELINE[target]}"
    validation = training.data_validation
    resources = training.resources
    compute = (
        resources.instance_type
        if target == "aws"
        else f"{resources.cpu} CPU, {resources.memory}" + (f", {resources.gpu} GPU" if resources.gpu else "")
    )
    gate = training.gate
    if gate is None:
        gate_line = "no gate"
    else:
        side = "≤" if gate.metric in LOWER_IS_BETTER else "≥"
        gate_line = f"gate {gate.metric} {side} {gate.threshold:g}" + (", beats production" if gate.must_beat_production else "")
    views = sorted({ref.partition(":")[0] for ref in model.features})
    steps = {
        "extract_features": ["Extract features", f"{len(model.features)} features, point in time"],
        "validate_data": ["Validate data", f"≥ {validation.min_rows} rows, ≤ {validation.max_null_fraction:g} nulls"],
        "train": ["Train", (training.entrypoint if training.custom else training.estimator or "").rsplit(".", 1)[-1], compute],
        "evaluate": ["Evaluate", gate_line],
        "register": ["Register", f"lineage: {len(model.registry.lineage)} fields"],
    }
    ids = [graph.add(("model", model.name, step), lines, "step", "training", group) for step, lines in steps.items()]
    for before, after in pairwise(ids):
        graph.connect(before, after)
    graph.connect(graph.node_id("store", "offline"), ids[0], ", ".join(views))
    graph.connect(graph.node_id("source", model.label.source), ids[0], f"labels: {model.label.column}", "dashed")
    if training.schedule:
        schedule = graph.add(("model", model.name, "schedule"), ["Training schedule", training.schedule], "schedule", "training", group)
        graph.connect(schedule, ids[0])
    return ids[0]


def _registry(graph: PlatformGraph, model: Model) -> str:
    registry = model.registry
    return graph.add(
        ("model", model.name, "registry"),
        [f"{model.name} versions", f"approval: {registry.approval}", f"keeps {registry.keep_versions}"],
        "registry",
        "registry",
    )


def _serving(graph: PlatformGraph, model: Model, target: str, registry: str) -> list[str]:
    """Serving nodes for a model; returns the ones monitors watch."""
    serving = model.serving
    group = f"serving-{model.name}"
    graph.group_titles[group] = model.name
    watched: list[str] = []
    if serving.online:
        scaling = serving.autoscaling
        replicas = (
            f"{scaling.min_replicas}-{scaling.max_replicas} replicas on {scaling.metric}"
            if scaling
            else _count(serving.replicas, "replica")
        )
        capture = serving.data_capture
        endpoint = graph.add(
            ("model", model.name, "endpoint"),
            [
                f"{model.name} endpoint",
                _ENDPOINT[target] + (", public" if serving.public else ""),
                replicas,
                f"captures {capture.sampling_percent}%" if capture.enabled else "no data capture",
            ],
            "endpoint",
            "serving",
            group,
        )
        graph.connect(registry, endpoint, "deploy production version", "loop")
        watched.append(endpoint)
        if serving.canary:
            canary = graph.add(
                ("model", model.name, "canary"),
                ["Canary", f"{serving.canary.percent}% for {_duration(serving.canary.bake_time)}"],
                "canary",
                "serving",
                group,
            )
            graph.connect(registry, canary, "new version", "dashed")
            graph.connect(canary, endpoint, "promote")
            watched.append(canary)
    if serving.batch:
        batch = serving.batch
        batch_id = graph.add(
            ("model", model.name, "batch"),
            ["Batch scoring", batch.schedule, f"{batch.input} → {batch.output}"],
            "batch",
            "serving",
            group,
        )
        graph.connect(registry, batch_id, "production version", "solid" if serving.online else "loop")
        if not serving.online:
            watched.append(batch_id)
    return watched


def _describe(monitor: Monitor) -> str:
    match monitor:
        case DataDrift():
            return f"input drift: {monitor.method} > {monitor.threshold:g} over {_duration(monitor.window)}"
        case PredictionDrift():
            return f"prediction drift: {monitor.method} > {monitor.threshold:g} over {_duration(monitor.window)}"
        case ModelQuality():
            side = ">" if monitor.metric in LOWER_IS_BETTER else "<"
            return f"quality: {monitor.metric} {side} {monitor.threshold:g} over {_duration(monitor.window)}"
        case Latency():
            return f"latency: p{monitor.quantile * 100:g} > {_duration(monitor.threshold)}"
        case ErrorRate():
            return f"error rate > {monitor.threshold:.2%}"
        case _:
            assert_never(monitor)


def _monitors(graph: PlatformGraph, platform: Platform, model: Model, watched: list[str], alerting: str | None) -> None:
    group = f"monitoring-{model.name}"
    graph.group_titles[group] = model.name
    canary = model.serving.canary
    for monitor in model.monitors:
        monitor_id = graph.add(
            ("model", model.name, "monitor", monitor.name),
            [monitor.name, _describe(monitor), f"{monitor.severity}, after {_duration(monitor.fire_after)}"],
            "monitor",
            "monitoring",
            group,
        )
        if watched:
            graph.connect(watched[0], monitor_id)
        if isinstance(monitor, ModelQuality):
            graph.connect(graph.node_id("source", model.label.source), monitor_id, "ground truth", "dashed")
        if canary and monitor.name in canary.rollback_on:
            graph.connect(monitor_id, graph.node_id("model", model.name, "canary"), "rolls back", "dashed")
        if alerting is not None:
            graph.connect(monitor_id, alerting)


def _retraining(graph: PlatformGraph, model: Model, trigger: str, alerting: str | None, first_step: str) -> None:
    triggers = model.retraining.triggers
    if not triggers:
        return
    alerts = sorted(retrains_on(model))
    if alerts and alerting is not None:
        graph.connect(alerting, trigger, "retrain " + model.name + ": " + ", ".join(alerts), "loop")
    for item in triggers:
        if isinstance(item, OnNewData):
            graph.connect(graph.node_id("source", item.source), trigger, f"new data ≥ {item.min_new_rows} rows", "dashed")
    schedules = [item.cron for item in triggers if isinstance(item, OnSchedule)]
    policy = model.retraining
    label = f"start {model.name} run (cooldown {_duration(policy.cooldown)})"
    if schedules:
        label += "; also on " + ", ".join(schedules)
    graph.connect(trigger, first_step, label, "loop")


def _resources(graph: PlatformGraph, group: ResourceGroup) -> None:
    counts = [f"{kind} ({n})" if n > 1 else kind for kind, n in group.counts]
    lines = [f"{group.component} ({group.component_type})", _count(group.total, "resource")]
    lines += [", ".join(counts[i : i + 3]) for i in range(0, len(counts), 3)]
    graph.add(
        ("res", group.component, group.component_type), lines, "resources", group.part, "resources" if group.part != "foundation" else None
    )
    graph.group_titles["resources"] = "Pulumi resources"


def _duration(value: timedelta) -> str:
    """A duration in the largest unit that divides it: 30d, 6h, 15m, 250ms."""
    for unit, size in (("d", timedelta(days=1)), ("h", timedelta(hours=1)), ("m", timedelta(minutes=1)), ("s", timedelta(seconds=1))):
        if value >= size and value % size == timedelta(0):
            return f"{value // size}{unit}"
    return f"{value.total_seconds() * 1000:g}ms"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


__all__ = ["platform_graph"]
