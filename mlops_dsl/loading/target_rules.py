"""What each target accepts that the spec alone cannot say: Kubernetes name limits, the AWS region's
images, ECR image URIs, SageMaker instance types, schedules EventBridge and Kubernetes CronJobs can
express, CloudWatch's metric queries per alarm, and estimators the trainer can import.

Checked with the spec's own rules (:mod:`mlops_dsl.spec.rules`) whenever a spec is
loaded for an environment, so ``mlops validate`` refuses what the target would.
Loading, not the spec, holds these: they read data about a target (the regions
SageMaker Model Monitor's image is published in) that the spec does not import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mlops_dsl.contracts.names import default_namespace
from mlops_dsl.loading.aws_images import model_monitor_regions
from mlops_dsl.loading.code_rules import check_code, code_folder
from mlops_dsl.loading.estimators import check_estimator, is_checked
from mlops_dsl.loading.name_rules import check_names
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget
from mlops_dsl.spec.monitoring import DataDrift, ModelQuality, PredictionDrift
from mlops_dsl.spec.platform import Model, Platform
from mlops_dsl.spec.problems import Problem, got_allowed, join_path, one_of
from mlops_dsl.spec.retraining import OnSchedule
from mlops_dsl.spec.schedules import UnsupportedScheduleError, eventbridge_cron

GPU_INSTANCE_FAMILIES = ("ml.p", "ml.g", "ml.trn", "ml.inf")


def check_target(platform: Platform, environment: str, source: Path | None = None) -> list[Problem]:
    """Every problem the target of ``environment`` would refuse in ``platform``.

    ``source`` is the spec file, which ``Platform.code`` (the team's modules) is relative to.
    """
    problems = list(_kubernetes_namespace_fits(platform))
    target = platform.environments[environment].target
    spec_file = source if source is not None and source.is_file() else None
    problems.extend(check_code(platform, environment, spec_file))
    code_dir = code_folder(platform, spec_file)
    spec_dir = spec_file.resolve().parent if spec_file is not None else None
    for model in platform.models:
        base = join_path("models", model.name)
        problems.extend(_aws_instances_fit(platform, model, base, environment))
        problems.extend(_aws_alarms_fit(model, base, environment, platform))
        if is_checked(model, target):
            problems.extend(check_estimator(model, base, code_dir, spec_dir))
    problems.extend(_target_can_deliver(platform, environment))
    problems.extend(_aws_platform_fits(platform, environment))
    problems.extend(_kubernetes_schedules_fit(platform, environment))
    problems.extend(check_names(platform, environment))
    return problems


def _kubernetes_namespace_fits(platform: Platform) -> Iterator[Problem]:
    for name, environment in platform.environments.items():
        target = environment.target
        if isinstance(target, KubernetesTarget) and target.namespace is None:
            default = default_namespace(platform.name, name)
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


ECR_IMAGE = re.compile(
    r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})", re.ASCII
)
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
    if not ECR_IMAGE.fullmatch(platform.image):
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
    yield from _feature_group_columns(platform)


FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}", re.ASCII)
"""CreateFeatureGroup's FeatureName (botocore's model of the API; tests hold the two equal)."""
RESERVED_FEATURE_NAMES = ("is_deleted", "write_time", "api_invocation_time")
"""Columns SageMaker adds to every feature group's offline store."""
FEATURE_NAME_RULE = "a SageMaker feature name: starting and ending with a letter or digit, not " + one_of(RESERVED_FEATURE_NAMES)


def _feature_group_columns(platform: Platform) -> Iterator[Problem]:
    """Every column a feature group gets (record identifier, event time, features) as SageMaker names them."""
    store = platform.feature_store
    entities = {entity.name: (i, entity) for i, entity in enumerate(store.entities)}
    sources = {source.name: (i, source) for i, source in enumerate(store.sources)}
    columns: dict[str, str] = {}  # path -> column name, each once
    for view in store.feature_views:
        for name in view.entities:
            if name in entities:
                index, entity = entities[name]
                columns[join_path("feature_store.entities", index, "join_key")] = entity.join_key
        if view.source in sources:
            index, source = sources[view.source]
            columns[join_path("feature_store.sources", index, "timestamp_field")] = source.timestamp_field
        for index, feature in enumerate(view.features):
            columns[join_path("feature_store.feature_views", view.name, "features", index, "name")] = feature.name
    for path, column in columns.items():
        if column in RESERVED_FEATURE_NAMES or not FEATURE_NAME.fullmatch(column):
            yield Problem(path, got_allowed(column, FEATURE_NAME_RULE, "a SageMaker feature group would refuse this column"))


def _schedule_problem(cron: str, path: str) -> Problem | None:
    try:
        eventbridge_cron(cron)
    except UnsupportedScheduleError as error:
        return Problem(path, got_allowed(cron, "a schedule EventBridge can express", str(error)))
    return None


def _aws_instances_fit(platform: Platform, model: Model, base: str, environment: str) -> Iterator[Problem]:
    if not isinstance(platform.environments[environment].target, AwsTarget):
        return
    if model.training.image is not None and not ECR_IMAGE.fullmatch(model.training.image):
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


# --- CloudWatch alarms ------------------------------------------------------------

ALARM_METRIC_QUERIES = 10
"""PutMetricAlarm's limit on an alarm's ``Metrics`` entries, metric-math expressions included."""


def _aws_alarms_fit(model: Model, base: str, environment: str, platform: Platform) -> Iterator[Problem]:
    if not isinstance(platform.environments[environment].target, AwsTarget):
        return
    for monitor in model.monitors:
        # components/aws/monitoring.py: one query per feature, and the MAX expression over them.
        if isinstance(monitor, DataDrift) and len(monitor.features) + 1 > ALARM_METRIC_QUERIES:
            count = len(monitor.features)
            yield Problem(
                join_path(base, "monitors", monitor.name, "features"),
                got_allowed(
                    monitor.features,
                    f"at most {ALARM_METRIC_QUERIES - 1} features per drift monitor on AWS (split them over several monitors)",
                    f"{count} features make a CloudWatch alarm of {count + 1} metric queries (one per feature and their maximum); "
                    f"PutMetricAlarm allows {ALARM_METRIC_QUERIES}",
                ),
            )


# --- Kubernetes CronJob schedules -------------------------------------------------

KUBERNETES_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
KUBERNETES_CRON_RULE = (
    "a schedule Kubernetes CronJobs accept: 5 fields of numbers, ranges, lists, steps, '*', '?' "
    "and month or weekday names (JAN, MON), or @hourly, @daily, @weekly, @monthly or @yearly"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (field, lowest, highest, names): robfig/cron's standard parser, which the CronJob controller uses.
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: index + 1 for index, name in enumerate(_MONTHS)}),
    ("day of week", 0, 6, {name: index for index, name in enumerate(_WEEKDAYS)}),
)
_NUMBER = re.compile(r"\+?[0-9]+")  # Go's strconv.Atoi, less the minus sign the parser splits ranges on
_EXTENSIONS = re.compile(r"([0-9]*L|[0-9]*W|LW|[0-9]+#[0-9]+|H(\(.*\))?)", re.I | re.ASCII)


class _CronFieldError(ValueError):
    """One item of a cron field the Kubernetes parser refuses; the message says why."""


def _cron_value(token: str, what: str, names: dict[str, int]) -> int:
    if token.lower() in names:
        return names[token.lower()]
    if _NUMBER.fullmatch(token):
        return int(token)
    if _EXTENSIONS.fullmatch(token):
        raise _CronFieldError(f"{what} {token!r} uses a croniter extension (L, W, # or H) that Kubernetes does not read")
    raise _CronFieldError(f"{what} {token!r} is not a number" + (" or a three-letter name" if names else ""))


def _cron_item(item: str, what: str, low: int, high: int, names: dict[str, int]) -> None:
    """Check one item of a field (``a``, ``a-b``, ``*``, ``a/n``, ``a-b/n``, ``*/n``) as robfig/cron's getRange does."""
    range_part, *steps = item.split("/")
    if len(steps) > 1:
        raise _CronFieldError(f"{what} {item!r} has more than one '/'")
    bounds = range_part.split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    elif len(bounds) > 2:
        raise _CronFieldError(f"{what} {item!r} has more than one '-'")
    else:
        start = _cron_value(bounds[0], what, names)
        end = _cron_value(bounds[1], what, names) if len(bounds) == 2 else start
    if steps:
        step = _cron_value(steps[0], f"{what} step", {})
        if step == 0:
            raise _CronFieldError(f"{what} {item!r} steps by 0")
        if len(bounds) == 1:
            end = high  # "a/n" means "a-highest/n"
    if start < low or end > high:
        sunday = " (Kubernetes numbers Sunday 0, never 7)" if what == "day of week" and end == 7 else ""
        raise _CronFieldError(f"{what} {item!r} is outside {low}-{high}{sunday}")
    if start > end:
        raise _CronFieldError(f"{what} range {item!r} runs backwards")


def kubernetes_cron_error(expression: str) -> str | None:
    """Why a Kubernetes CronJob would refuse ``expression`` (robfig/cron's standard parser), or None if it accepts it."""
    text = expression.strip()
    if text.startswith("@"):
        return None if text in KUBERNETES_CRON_MACROS else f"{text!r} is not a macro Kubernetes knows"
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"Kubernetes reads {len(_CRON_FIELDS)} fields; this has {len(fields)}"
    for field, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in field.split(","):
            if not item:
                continue  # robfig splits lists with FieldsFunc, which drops empty items
            try:
                _cron_item(item, what, low, high, names)
            except _CronFieldError as error:
                return str(error)
    return None


def cronjob_schedules(platform: Platform) -> Iterator[tuple[str, str]]:
    """(path, cron) of every schedule the Kubernetes target makes a CronJob of.

    Retraining's OnSchedule triggers are not among them: the retraining trigger service reads those
    with croniter (as it does on the local target).
    """
    yield "feature_store.materialization.schedule", platform.feature_store.materialization.schedule
    for model in platform.models:
        base = join_path("models", model.name)
        if model.training.schedule:
            yield join_path(base, "training.schedule"), model.training.schedule
        if model.serving.batch is not None:
            yield join_path(base, "serving.batch.schedule"), model.serving.batch.schedule


def _kubernetes_schedules_fit(platform: Platform, environment: str) -> Iterator[Problem]:
    if not isinstance(platform.environments[environment].target, KubernetesTarget):
        return
    for path, cron in cronjob_schedules(platform):
        reason = kubernetes_cron_error(cron)
        if reason is not None:
            yield Problem(path, got_allowed(cron, KUBERNETES_CRON_RULE, reason))
