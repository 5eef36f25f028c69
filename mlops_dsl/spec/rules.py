"""Cross-field rules: mistakes no single field can see.

Field types catch a bad value; these rules catch a value that is fine alone but
wrong in context: a trigger naming an alert that does not exist, drift on a
feature no view defines, automatic approval in prod without a gate, a roc_auc
gate of 75, a feature named like the entity's join key. They run on the
validated platform of one environment, and each problem names the exact field
path to fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from mlops_dsl.spec.environment import STAGES
from mlops_dsl.spec.monitoring import SERVICE_MONITOR_KINDS, DataDrift, ModelQuality, PredictionDrift
from mlops_dsl.spec.platform import Model, Platform
from mlops_dsl.spec.problems import Problem, got_allowed, join_path, one_of
from mlops_dsl.spec.retraining import OnAlert, OnNewData
from mlops_dsl.spec.training import CLASSIFICATION_METRICS, REGRESSION_METRICS

METRIC_RANGES: dict[str, tuple[float | None, float | None]] = {
    "accuracy": (0.0, 1.0),
    "roc_auc": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "log_loss": (0.0, None),
    "rmse": (0.0, None),
    "mae": (0.0, None),
    "r2": (None, 1.0),
}
"""The values each metric can take (lowest, highest; None where it has no bound): a threshold outside never passes or always does."""


def check_platform(platform: Platform, environment: str) -> list[Problem]:
    """Every cross-field problem of ``platform`` as deployed to ``environment``."""
    problems: list[Problem] = []
    for rule in (
        _unique_names,
        _feature_views_refer_to_declared_names,
        _features_are_not_keys_or_timestamps,
        _environments_have_stages,
    ):
        problems.extend(rule(platform))
    for model in platform.models:
        base = join_path("models", model.name)
        for model_rule in (
            _model_features_exist,
            _label_is_declared,
            _data_validation_names_features,
            _metrics_fit_task,
            _thresholds_fit_metric,
            _monitors_refer_to_declared_names,
            _triggers_refer_to_declared_names,
            _serving_is_consistent,
        ):
            problems.extend(model_rule(platform, model, base))
        problems.extend(_prod_approval_is_gated(platform, model, base, environment))
    return problems


def stage_of(platform: Platform, environment: str) -> str:
    """The stage (dev, staging or prod) of an environment, declared or implied by its name."""
    declared = platform.environments[environment].stage
    return declared or (environment if environment in STAGES else "dev")


# --- platform-wide rules -------------------------------------------------------


def _duplicates(items: Iterable[str], path: str, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, name in enumerate(items):
        if name in seen:
            yield Problem(
                join_path(path, index, "name"),
                got_allowed(name, f"unique {what} names", "declared more than once"),
            )
        seen.add(name)


def _unique_names(platform: Platform) -> Iterator[Problem]:
    store = platform.feature_store
    yield from _duplicates((m.name for m in platform.models), "models", "model")
    yield from _duplicates((e.name for e in store.entities), "feature_store.entities", "entity")
    yield from _duplicates((s.name for s in store.sources), "feature_store.sources", "source")
    yield from _duplicates((v.name for v in store.feature_views), "feature_store.feature_views", "feature view")
    yield from _duplicates((c.name for c in platform.notifications), "notifications", "notification channel")
    for view in store.feature_views:
        path = join_path("feature_store.feature_views", view.name, "features")
        yield from _duplicates((f.name for f in view.features), path, "feature")
    # Alert names are global in Prometheus and Alertmanager, so monitors must be
    # unique across the whole platform, not only within one model.
    seen: dict[str, str] = {}
    checked: set[str] = set()
    for model in platform.models:
        if model.name in checked:
            continue  # a duplicated model is reported once, above, not once per monitor
        checked.add(model.name)
        for index, monitor in enumerate(model.monitors):
            owner = seen.get(monitor.name)
            if owner is not None:
                yield Problem(
                    join_path("models", model.name, "monitors", index, "name"),
                    got_allowed(
                        monitor.name,
                        "monitor names unique across the platform (each is an alert name)",
                        f"model {owner!r} already has a monitor with this name",
                    ),
                )
            seen.setdefault(monitor.name, model.name)


def _feature_views_refer_to_declared_names(platform: Platform) -> Iterator[Problem]:
    store = platform.feature_store
    entities = {e.name for e in store.entities}
    sources = {s.name for s in store.sources}
    for view in store.feature_views:
        path = join_path("feature_store.feature_views", view.name)
        for index, entity in enumerate(view.entities):
            if entity not in entities:
                yield Problem(
                    join_path(path, "entities", index),
                    got_allowed(entity, f"a declared entity: {one_of(entities)}", "no entity with this name"),
                )
        if view.source not in sources:
            yield Problem(
                join_path(path, "source"),
                got_allowed(view.source, f"a declared source: {one_of(sources)}", "no source with this name"),
            )


def _features_are_not_keys_or_timestamps(platform: Platform) -> Iterator[Problem]:
    # Feast and SageMaker Feature Store define the entity's join key and the source's timestamps
    # themselves; a feature of the same name is a second definition of the column, which both refuse.
    store = platform.feature_store
    join_keys = {e.name: e.join_key for e in store.entities}
    sources = {s.name: s for s in store.sources}
    for view in store.feature_views:
        reserved = {join_keys[name]: f"the join key of entity {name!r}" for name in view.entities if name in join_keys}
        source = sources.get(view.source)
        if source is not None:
            reserved[source.timestamp_field] = f"the event timestamp of source {source.name!r}"
            if source.created_timestamp_field:
                reserved[source.created_timestamp_field] = f"the created timestamp of source {source.name!r}"
        for index, feature in enumerate(view.features):
            column = reserved.get(feature.name)
            if column is not None:
                yield Problem(
                    join_path("feature_store.feature_views", view.name, "features", index, "name"),
                    got_allowed(
                        feature.name,
                        f"a name other than {', '.join(map(repr, sorted(reserved)))} (the feature view defines those columns itself)",
                        f"{feature.name!r} is {column}",
                    ),
                )


def _environments_have_stages(platform: Platform) -> Iterator[Problem]:
    for name, environment in platform.environments.items():
        if environment.stage is None and name not in STAGES:
            yield Problem(
                join_path("environments", name, "stage"),
                got_allowed(None, one_of(STAGES), f"environment {name!r} is not named after a stage, so declare one"),
            )


# --- per-model rules -----------------------------------------------------------


def _view_features(platform: Platform) -> dict[str, set[str]]:
    return {view.name: {f.name for f in view.features} for view in platform.feature_store.feature_views}


def _feature_ref_problem(platform: Platform, ref: str, path: str) -> Problem | None:
    views = _view_features(platform)
    view_name, sep, feature = ref.partition(":")
    if not sep or not view_name or not feature:
        return Problem(path, got_allowed(ref, "a feature reference 'view:feature', such as 'customer_activity:tenure_months'"))
    if view_name not in views:
        return Problem(
            path, got_allowed(ref, f"a feature of a declared view: {one_of(set(views))}", f"no feature view named {view_name!r}")
        )
    if feature not in views[view_name]:
        return Problem(
            path,
            got_allowed(
                ref, f"a feature of view {view_name!r}: {one_of(views[view_name])}", f"view {view_name!r} has no feature named {feature!r}"
            ),
        )
    return None


def _model_features_exist(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, ref in enumerate(model.features):
        path = join_path(base, "features", index)
        problem = _feature_ref_problem(platform, ref, path)
        if problem:
            yield problem
        elif ref in seen:
            yield Problem(path, got_allowed(ref, "each feature once", "listed more than once"))
        seen.add(ref)


def _input_names(model: Model) -> dict[str, str]:
    """The model's input features by bare name and by reference, mapped to the reference."""
    names: dict[str, str] = {}
    for ref in model.features:
        names[ref] = ref
        names[ref.partition(":")[2]] = ref
    return names


def _label_is_declared(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    sources = {s.name for s in platform.feature_store.sources}
    if model.label.source not in sources:
        yield Problem(
            join_path(base, "label", "source"),
            got_allowed(model.label.source, f"a declared source: {one_of(sources)}", "no source with this name"),
        )
    if model.label.column in _input_names(model):
        yield Problem(
            join_path(base, "label", "column"),
            got_allowed(model.label.column, "a column that is not also an input feature", "the label would leak into the inputs"),
        )


def _data_validation_names_features(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    inputs = _input_names(model)
    for name, bounds in model.training.data_validation.ranges.items():
        path = join_path(base, "training.data_validation.ranges", name)
        if name not in inputs:
            yield Problem(
                path,
                got_allowed(name, f"an input feature of model {model.name!r}: {one_of(set(model.features))}", "not an input of this model"),
            )
        if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
            yield Problem(join_path(path, "min"), got_allowed(bounds.min, f"at most max ({bounds.max})", "min is above max"))


def _metrics_fit_task(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    allowed = CLASSIFICATION_METRICS if model.task == "classification" else REGRESSION_METRICS
    what = f"a {model.task} metric: {one_of(allowed)}"
    gate = model.training.gate
    if gate is not None and gate.metric not in allowed:
        yield Problem(join_path(base, "training.gate.metric"), got_allowed(gate.metric, what))
    for monitor in model.monitors:
        if isinstance(monitor, ModelQuality) and monitor.metric not in allowed:
            yield Problem(join_path(base, "monitors", monitor.name, "metric"), got_allowed(monitor.metric, what))


def metric_range(metric: str) -> str:
    """The values ``metric`` can take, in words ("from 0 to 1", "at least 0", "at most 1")."""
    low, high = METRIC_RANGES[metric]
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _threshold_problem(metric: str, threshold: float, path: str) -> Problem | None:
    low, high = METRIC_RANGES.get(metric, (None, None))
    if math.isfinite(threshold) and (low is None or threshold >= low) and (high is None or threshold <= high):
        return None
    percent = low == 0.0 and high == 1.0 and 1.0 < threshold <= 100.0
    reason = f"{metric} is a fraction of 1, not a percent" if percent else ""
    return Problem(path, got_allowed(threshold, f"{metric} {metric_range(metric)}", reason))


def _thresholds_fit_metric(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    # A metric of the other task is reported by _metrics_fit_task; its threshold is then no second mistake.
    fits = CLASSIFICATION_METRICS if model.task == "classification" else REGRESSION_METRICS
    gate = model.training.gate
    if gate is not None and gate.metric in fits:
        problem = _threshold_problem(gate.metric, gate.threshold, join_path(base, "training.gate.threshold"))
        if problem:
            yield problem
        low, high = METRIC_RANGES.get(gate.metric, (None, None))
        if gate.must_beat_production and low is not None and high is not None and gate.min_improvement >= high - low:
            yield Problem(
                join_path(base, "training.gate.min_improvement"),
                got_allowed(
                    gate.min_improvement,
                    f"less than {high - low:g} ({gate.metric} runs {metric_range(gate.metric)})",
                    "no candidate could beat production by this much",
                ),
            )
    for monitor in model.monitors:
        path = join_path(base, "monitors", monitor.name, "threshold")
        if isinstance(monitor, ModelQuality) and monitor.metric in fits:
            problem = _threshold_problem(monitor.metric, monitor.threshold, path)
            if problem:
                yield problem
        elif isinstance(monitor, (DataDrift, PredictionDrift)) and monitor.method == "ks" and not 0 < monitor.threshold <= 1:
            yield Problem(path, got_allowed(monitor.threshold, "a KS statistic between 0 and 1"))


def _monitors_refer_to_declared_names(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    views = _view_features(platform)
    inputs = _input_names(model)
    channels = {c.name for c in platform.notifications}
    for monitor in model.monitors:
        path = join_path(base, "monitors", monitor.name)
        for index, channel in enumerate(monitor.notify or []):
            if channel not in channels:
                yield Problem(
                    join_path(path, "notify", index),
                    got_allowed(channel, f"a declared notification channel: {one_of(channels)}", "no channel with this name"),
                )
        if not isinstance(monitor, DataDrift):
            continue
        for index, feature in enumerate(monitor.features):
            feature_path = join_path(path, "features", index)
            if feature in inputs:
                continue
            bare = feature.partition(":")[2] or feature
            defined = any(bare in names for names in views.values())
            reason = "a feature of the store, but not an input of this model" if defined else "no feature view defines this feature"
            yield Problem(
                feature_path, got_allowed(feature, f"an input feature of model {model.name!r}: {one_of(set(model.features))}", reason)
            )


def _triggers_refer_to_declared_names(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    own = {m.name for m in model.monitors}
    others = {m.name: other.name for other in platform.models if other is not model for m in other.monitors}
    sources = {s.name for s in platform.feature_store.sources}
    for index, trigger in enumerate(model.retraining.triggers):
        path = join_path(base, "retraining.triggers", index)
        if isinstance(trigger, OnAlert) and trigger.alert not in own:
            reason = f"this is a monitor of model {others[trigger.alert]!r}" if trigger.alert in others else "no monitor with this name"
            yield Problem(join_path(path, "alert"), got_allowed(trigger.alert, f"a monitor of model {model.name!r}: {one_of(own)}", reason))
        if isinstance(trigger, OnNewData) and trigger.source not in sources:
            yield Problem(
                join_path(path, "source"), got_allowed(trigger.source, f"a declared source: {one_of(sources)}", "no source with this name")
            )


def _serving_is_consistent(platform: Platform, model: Model, base: str) -> Iterator[Problem]:
    serving = model.serving
    path = join_path(base, "serving")
    if not serving.online and serving.batch is None:
        yield Problem(join_path(path, "online"), got_allowed(False, "true, or a batch section", "the model would not be served at all"))
    scaling = serving.autoscaling
    if scaling is not None:
        if scaling.min_replicas > scaling.max_replicas:
            yield Problem(
                join_path(path, "autoscaling.min_replicas"),
                got_allowed(scaling.min_replicas, f"at most max_replicas ({scaling.max_replicas})", "min_replicas is above max_replicas"),
            )
        elif not scaling.min_replicas <= serving.replicas <= scaling.max_replicas:
            yield Problem(
                join_path(path, "replicas"),
                got_allowed(serving.replicas, f"{scaling.min_replicas} to {scaling.max_replicas} (the autoscaling bounds)"),
            )
        if scaling.metric == "cpu" and (scaling.target > 100 or not float(scaling.target).is_integer()):
            # A Kubernetes HPA holds the utilization as a whole percent (averageUtilization is an integer).
            yield Problem(
                join_path(path, "autoscaling.target"),
                got_allowed(scaling.target, "a CPU utilization percent: a whole number from 1 to 100"),
            )
    canary = serving.canary
    if canary is not None:
        if not serving.online:
            yield Problem(join_path(path, "canary"), got_allowed("a canary", "no canary for a model that is not served online"))
        health = {m.name for m in model.monitors if m.kind in SERVICE_MONITOR_KINDS}
        for index, alert in enumerate(canary.rollback_on):
            if alert not in health:
                yield Problem(
                    join_path(path, "canary.rollback_on", index),
                    got_allowed(alert, f"a latency, error-rate or quality monitor of model {model.name!r}: {one_of(health)}"),
                )


def _prod_approval_is_gated(platform: Platform, model: Model, base: str, environment: str) -> Iterator[Problem]:
    if stage_of(platform, environment) == "prod" and model.registry.approval == "automatic" and model.training.gate is None:
        yield Problem(
            join_path(base, "registry.approval"),
            got_allowed(
                "automatic",
                "'manual', or declare training.gate so automatic approval is gated",
                "automatic approval in prod needs an evaluation gate",
            ),
        )
