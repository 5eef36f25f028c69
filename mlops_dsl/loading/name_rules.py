"""Names the target derives from the spec must stay apart: two spec objects may not become one physical name.

The spec keeps its own names unique (:mod:`mlops_dsl.spec.rules`), but a target joins them into
longer ones (an alarm is ``<platform>-<environment>-<model>-<monitor>``), so model ``churn`` with
monitor ``v2-latency`` and model ``churn-v2`` with monitor ``latency`` become the same CloudWatch
alarm. These rules compute the physical names of the environment's target with the functions the
components use (:mod:`mlops_dsl.contracts.names`) and refuse any two different spec objects whose
names of one kind are equal, quoting both. On Kubernetes that includes Pulumi's own resource names
(model ``m`` with a canary and model ``m-canary`` would declare one resource twice) and two
environments that deploy to one namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import assert_never

from mlops_dsl.contracts.names import AwsNames, KubernetesNames, default_namespace
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget, LocalTarget
from mlops_dsl.spec.monitoring import ModelQuality, Slack
from mlops_dsl.spec.platform import Platform
from mlops_dsl.spec.problems import Problem, got_allowed, join_path
from mlops_dsl.spec.retraining import OnAlert, OnNewData, OnSchedule


@dataclass(frozen=True)
class Derived:
    """One physical name, of one kind, and the spec object it comes from."""

    kind: str
    """What the name names, as the target calls it (``Service``, ``CloudWatch alarm``)."""
    name: str
    path: str
    """The spec object's path (``models.churn.monitors.churn-latency``)."""
    owner: str
    """The spec object, for people (``model 'churn' monitor 'churn-latency'``)."""
    given: str
    """The spec object's own name."""


def check_names(platform: Platform, environment: str) -> list[Problem]:
    """One problem for each pair of spec objects whose physical names on the environment's target are equal."""
    target = platform.environments[environment].target
    problems = list(_shared_namespaces(platform, environment, target)) if isinstance(target, KubernetesTarget) else []
    return problems + list(_collisions(derived_names(platform, environment), target.kind))


def derived_names(platform: Platform, environment: str) -> list[Derived]:
    """Every physical name the environment's target derives from the spec, with the spec object it comes from."""
    target = platform.environments[environment].target
    match target:
        case KubernetesTarget():
            return list(_kubernetes_names(platform))
        case AwsTarget():
            return list(_aws_names(platform, environment))
        case LocalTarget():  # processes on one machine: ports and folders, no derived names
            return []
        case _:
            assert_never(target)


def _collisions(derived: list[Derived], target: str) -> Iterator[Problem]:
    first: dict[tuple[str, str], Derived] = {}
    for item in derived:
        seen = first.setdefault((item.kind, item.name), item)
        if seen.path == item.path:
            continue  # one spec object may own several resources of a name (a Deployment and its Service)
        yield Problem(
            item.path,
            got_allowed(
                item.given,
                f"a name whose {item.kind} differs from every other's on {target} (rename one of the two)",
                f"{seen.owner} ({seen.path}) and {item.owner} both become {item.kind} {item.name!r}",
            ),
        )


# --- Kubernetes ----------------------------------------------------------------------------------


def namespace_of(platform: Platform, environment: str, target: KubernetesTarget) -> str:
    """The namespace an environment deploys to (the components' default: ``<platform>-<environment>``)."""
    return target.namespace or default_namespace(platform.name, environment)


def _shared_namespaces(platform: Platform, environment: str, target: KubernetesTarget) -> Iterator[Problem]:
    namespace = namespace_of(platform, environment, target)
    for other, declared in platform.environments.items():
        if other == environment:
            break  # reported once, on the later of the two
        theirs = declared.target
        if isinstance(theirs, KubernetesTarget) and theirs.context == target.context and namespace_of(platform, other, theirs) == namespace:
            cluster = f"context {target.context!r}" if target.context else "the current kubeconfig context"
            yield Problem(
                join_path("environments", environment, "target", "namespace"),
                got_allowed(
                    target.namespace,
                    "a namespace (or context) of its own",
                    f"environments {other!r} and {environment!r} both deploy platform {platform.name!r} to namespace {namespace!r} "
                    f"of {cluster}, where every object of one would be the other's",
                ),
            )


def _kubernetes_names(platform: Platform) -> Iterator[Derived]:
    names = KubernetesNames(platform.name)
    owner = f"platform {platform.name!r}"
    shared = [
        ("ConfigMap", names.spec()),
        ("ConfigMap", names.jobs()),
        ("Secret", names.secrets()),
        ("PersistentVolumeClaim", names.data()),
        ("PersistentVolumeClaim", names.registry_artifacts()),
        ("ServiceAccount", names.runtime_account()),
        ("ServiceAccount", names.retraining()),
        ("Role", names.retraining()),
        ("RoleBinding", names.retraining()),
        ("StatefulSet", names.redis()),
        ("StatefulSet", names.registry_database()),
        ("CronJob", names.materialize()),
        ("PrometheusRule", names.alerts()),
        ("AlertmanagerConfig", names.routing()),
    ]
    for kind in ("Service", "Deployment"):
        shared += [(kind, names.features()), (kind, names.registry()), (kind, names.retraining()), (kind, names.monitor())]
    shared += [("Service", names.redis()), ("Service", names.registry_database())]
    shared += [("ServiceMonitor", names.retraining()), ("ServiceMonitor", names.monitor())]
    for kind, name in shared:
        yield Derived(kind, name, "name", owner, platform.name)
    for model in platform.models:
        path, owner = join_path("models", model.name), f"model {model.name!r}"
        serving = model.serving
        if serving.online:
            server = names.server(model.name)
            for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor"):
                yield Derived(kind, server, path, owner, model.name)
            # Pulumi's own names must be unique too: a model's serving component is "<platform>-<model>",
            # its Deployment and Service "<component>-deployment", its canary's "<component>-canary-deployment".
            roles = ("deployment", "service", *(("canary-deployment", "canary-service") if serving.canary is not None else ()))
            for role in roles:
                kind = f"Pulumi resource ({role.rsplit('-', 1)[-1].capitalize()})"
                yield Derived(kind, f"{platform.name}-{model.name}-{role}", path, owner, model.name)
            if serving.autoscaling is not None:
                yield Derived("HorizontalPodAutoscaler", server, path, owner, model.name)
            if serving.canary is not None:
                yield Derived("Deployment", names.canary(model.name), path, owner, model.name)
                yield Derived("Service", names.canary(model.name), path, owner, model.name)
            if serving.canary is not None or serving.public:
                yield Derived("HTTPRoute", names.route(model.name), path, owner, model.name)
        if serving.batch is not None:
            yield Derived("CronJob", names.batch(model.name), path, owner, model.name)
        if model.training.schedule is not None:
            yield Derived("CronJob", names.training_schedule(model.name), path, owner, model.name)


# --- AWS -------------------------------------------------------------------------------------------


def _aws_names(platform: Platform, environment: str) -> Iterator[Derived]:
    names = AwsNames(platform.name, environment)
    owner = f"platform {platform.name!r}"
    online = [m for m in platform.models if m.serving.online]
    batched = [m for m in platform.models if m.serving.batch is not None]
    yield Derived("Lambda function", names.function("trigger"), "name", owner, platform.name)
    if online:
        yield Derived("Lambda function", names.function("deploy"), "name", owner, platform.name)
        yield Derived("EventBridge rule", names.rule("model-approvals"), "name", owner, platform.name)
    if batched:
        yield Derived("Lambda function", names.function("batch"), "name", owner, platform.name)
    triggers = [t for m in platform.models for t in m.retraining.triggers]
    kinds = {"alarms": any(isinstance(t, OnAlert) for t in triggers), "new-data": any(isinstance(t, OnNewData) for t in triggers)}
    for kind in [*(k for k, used in kinds.items() if used), "runs-ended"]:
        yield Derived("EventBridge rule", names.rule("retraining", kind), "name", owner, platform.name)
    yield Derived("DynamoDB table", names.table("retraining-state"), "name", owner, platform.name)
    for channel in platform.notifications:
        path, who = join_path("notifications", channel.name), f"channel {channel.name!r}"
        yield Derived("SNS topic", names.topic(channel.name), path, who, channel.name)
        if isinstance(channel, Slack):
            yield Derived("Lambda function", names.function(f"notify-{channel.name}"), path, who, channel.name)
    for view in platform.feature_store.feature_views:
        path = join_path("feature_store.feature_views", view.name)
        yield Derived("SageMaker feature group", names.feature_group(view.name), path, f"feature view {view.name!r}", view.name)
    for model in platform.models:
        path, owner = join_path("models", model.name), f"model {model.name!r}"
        yield Derived("SageMaker model package group", names.model_package_group(model.name), path, owner, model.name)
        yield Derived("SageMaker pipeline", names.pipeline(model.name), path, owner, model.name)
        yield Derived("SageMaker data-quality job definition", names.monitoring(model.name, "data-quality"), path, owner, model.name)
        if model.serving.online:
            yield Derived("SageMaker endpoint", names.endpoint(model.name), path, owner, model.name)
            yield Derived("SageMaker monitoring schedule", names.monitoring(model.name, "data-quality"), path, owner, model.name)
            if any(isinstance(m, ModelQuality) for m in model.monitors):
                yield Derived(
                    "SageMaker model-quality job definition", names.monitoring(model.name, "model-quality"), path, owner, model.name
                )
                yield Derived("SageMaker monitoring schedule", names.monitoring(model.name, "model-quality"), path, owner, model.name)
        if model.serving.batch is not None:
            yield Derived("EventBridge rule", names.rule(model.name, "batch"), path, owner, model.name)
        if model.training.schedule is not None:
            yield Derived("EventBridge rule", names.rule(model.name, "training-schedule"), path, owner, model.name)
        scheduled = [i for i, t in enumerate(model.retraining.triggers) if isinstance(t, OnSchedule)]
        for number, index in enumerate(scheduled):  # the rules are numbered among the scheduled triggers
            trigger = join_path(path, "retraining.triggers", index)
            yield Derived("EventBridge rule", names.rule(model.name, "retraining-schedule", str(number)), trigger, owner, model.name)
        for monitor in model.monitors:
            where, who = join_path(path, "monitors", monitor.name), f"model {model.name!r} monitor {monitor.name!r}"
            yield Derived("CloudWatch alarm", names.alarm(model.name, monitor.name), where, who, monitor.name)
