"""What each target accepts that the spec alone cannot say: Kubernetes name limits, the AWS region's
images, ECR image URIs, SageMaker instance types, schedules EventBridge can express.

Checked with the spec's own rules (:mod:`mlops_dsl.spec.rules`) whenever a spec is
loaded for an environment, so ``mlops validate`` refuses what the target would.
Loading, not the spec, holds these: they read data about a target (the regions
SageMaker Model Monitor's image is published in) that the spec does not import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlops_dsl.loading.aws_images import model_monitor_regions
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget
from mlops_dsl.spec.monitoring import DataDrift, ModelQuality, PredictionDrift
from mlops_dsl.spec.platform import Model, Platform
from mlops_dsl.spec.problems import Problem, got_allowed, join_path, one_of
from mlops_dsl.spec.retraining import OnSchedule
from mlops_dsl.spec.schedules import UnsupportedScheduleError, eventbridge_cron

GPU_INSTANCE_FAMILIES = ("ml.p", "ml.g", "ml.trn", "ml.inf")


def check_target(platform: Platform, environment: str) -> list[Problem]:
    """Every problem the target of ``environment`` would refuse in ``platform``."""
    problems = list(_kubernetes_namespace_fits(platform))
    for model in platform.models:
        problems.extend(_aws_instances_fit(platform, model, join_path("models", model.name), environment))
    problems.extend(_target_can_deliver(platform, environment))
    problems.extend(_aws_platform_fits(platform, environment))
    return problems


def _kubernetes_namespace_fits(platform: Platform) -> Iterator[Problem]:
    for name, environment in platform.environments.items():
        target = environment.target
        if isinstance(target, KubernetesTarget) and target.namespace is None:
            default = f"{platform.name}-{name}"
            if len(default) > 63:
                yield Problem(
                    join_path("environments", name, "target", "namespace"),
                    got_allowed(None, "a namespace name of at most 63 characters", f"the default {default!r} is too long"),
                )


def _target_can_deliver(platform: Platform, environment: str) -> Iterator[Problem]:
    target = platform.environments[environment].target
    if target.kind in ("local", "kubernetes") and platform.retraining_webhook.auth == "hmac":
        yield Problem(
            "retraining_webhook.auth",
            got_allowed(
                "hmac",
                "'bearer' (Alertmanager, which delivers alerts on the local and kubernetes targets, sends bearer tokens, not signatures)",
            ),
        )
    if isinstance(target, KubernetesTarget) and target.gateway is None:
        with_canary = [m.name for m in platform.models if m.serving.canary is not None]
        public = [m.name for m in platform.models if m.serving.public and m.serving.online]
        if with_canary or public:
            why = f"model {with_canary[0]!r} declares a canary" if with_canary else f"model {public[0]!r} is public"
            yield Problem(
                join_path("environments", environment, "target", "gateway"),
                got_allowed(
                    None, "a Gateway API gateway ('namespace/name') whose HTTPRoutes split canary traffic and expose public models", why
                ),
            )


ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")
MODEL_MONITOR_METRICS = {"accuracy", "roc_auc", "f1", "precision", "recall", "rmse", "mae", "r2"}


def _aws_platform_fits(platform: Platform, environment: str) -> Iterator[Problem]:
    target = platform.environments[environment].target
    if not isinstance(target, AwsTarget):
        return
    # Every model's pipeline computes Model Monitor's baseline with AWS's analyzer image.
    regions = model_monitor_regions()
    if platform.models and target.region not in regions:
        yield Problem(
            join_path("environments", environment, "target.region"),
            got_allowed(target.region, f"a region SageMaker Model Monitor runs in: {one_of(regions)}"),
        )
    if not ECR_IMAGE.match(platform.image):
        yield Problem(
            "image",
            got_allowed(
                platform.image,
                "an Amazon ECR image URI (SageMaker pulls from ECR), "
                "such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime:0.1.0",
            ),
        )
    for view in platform.feature_store.feature_views:
        if len(view.entities) != 1:
            yield Problem(
                join_path("feature_store.feature_views", view.name, "entities"),
                got_allowed(view.entities, "exactly one entity (a SageMaker feature group has one record identifier)"),
            )


def _schedule_problem(cron: str, path: str) -> Problem | None:
    try:
        eventbridge_cron(cron)
    except UnsupportedScheduleError as error:
        return Problem(path, got_allowed(cron, "a schedule EventBridge can express", str(error)))
    return None


def _aws_instances_fit(platform: Platform, model: Model, base: str, environment: str) -> Iterator[Problem]:
    if not isinstance(platform.environments[environment].target, AwsTarget):
        return
    if model.training.image is not None and not ECR_IMAGE.match(model.training.image):
        yield Problem(
            join_path(base, "training.image"), got_allowed(model.training.image, "an Amazon ECR image URI (SageMaker pulls from ECR)")
        )
    if model.serving.public:
        yield Problem(
            join_path(base, "serving.public"),
            got_allowed(
                True, "false (a SageMaker endpoint is reached only by signed AWS API calls; front it with API Gateway to publish it)"
            ),
        )
    schedules = [("training.schedule", model.training.schedule)]
    schedules += [(f"retraining.triggers[{i}].cron", t.cron) for i, t in enumerate(model.retraining.triggers) if isinstance(t, OnSchedule)]
    if model.serving.batch is not None:
        schedules.append(("serving.batch.schedule", model.serving.batch.schedule))
    for where, cron in schedules:
        problem = _schedule_problem(cron, join_path(base, where)) if cron else None
        if problem is not None:
            yield problem
    for monitor in model.monitors:
        channels = monitor.notify if monitor.notify is not None else [c.name for c in platform.notifications]
        if not channels:
            yield Problem(
                join_path(base, "monitors", monitor.name, "notify"),
                got_allowed(channels, "at least one notification channel (a CloudWatch alarm must notify someone)"),
            )
        if isinstance(monitor, ModelQuality) and monitor.metric not in MODEL_MONITOR_METRICS:
            yield Problem(
                join_path(base, "monitors", monitor.name, "metric"),
                got_allowed(monitor.metric, f"a metric SageMaker Model Monitor reports: {one_of(MODEL_MONITOR_METRICS)}"),
            )
    for monitor in model.monitors:
        if isinstance(monitor, (DataDrift, PredictionDrift)) and monitor.method != "ks":
            yield Problem(
                join_path(base, "monitors", monitor.name, "method"),
                got_allowed(
                    monitor.method,
                    "'ks' (SageMaker Model Monitor measures drift as the distance between distributions, a KS statistic)",
                    "on AWS drift comes from Model Monitor",
                ),
            )
    sized = [("training.resources", model.training.resources), ("serving.resources", model.serving.resources)]
    if model.serving.batch is not None:
        sized.append(("serving.batch.resources", model.serving.batch.resources))
    for where, resources in sized:
        path = join_path(base, where, "instance_type")
        if not resources.instance_type.startswith("ml."):
            yield Problem(path, got_allowed(resources.instance_type, "a SageMaker instance type such as ml.m5.large"))
        elif resources.gpu > 0 and not resources.instance_type.startswith(GPU_INSTANCE_FAMILIES):
            yield Problem(
                path,
                got_allowed(
                    resources.instance_type,
                    "an accelerated instance type (ml.p*, ml.g*, ml.trn*, ml.inf*)",
                    f"{where}.gpu asks for {resources.gpu} GPU",
                ),
            )
