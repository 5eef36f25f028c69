"""Every validation rule, each pinned to the exact field path of its error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.base_spec import base_data, paths, problems, resolve


def test_the_base_platform_is_valid_in_every_environment() -> None:
    resolved = resolve()
    assert sorted(resolved) == ["dev", "prod"]
    assert resolved["prod"].target.kind == "aws"
    assert resolved["dev"].platform.model("churn").serving.canary is not None


# --- field rules (types and bounds) ------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"models.churn.serving.canary.percent": 150}, "models.churn.serving.canary.percent", "got 150; allowed: 1 to 99"),
        ({"models.churn.serving.canary.percent": 0}, "models.churn.serving.canary.percent", "got 0; allowed: 1 to 99"),
        ({"models.churn.serving.replicas": 0}, "models.churn.serving.replicas", "got 0; allowed: 1 to 1000"),
        (
            {"models.churn.serving.data_capture": {"sampling_percent": 0}},
            "models.churn.serving.data_capture.sampling_percent",
            "allowed: 1 to 100",
        ),
        (
            {"models.churn.monitors.churn-errors.threshold": 1.5},
            "models.churn.monitors.churn-errors.threshold",
            "more than 0.0 and less than 1.0",
        ),
        (
            {"models.churn.training.schedule": "0 25 * * *"},
            "models.churn.training.schedule",
            "got '0 25 * * *'; allowed: a 5-field cron",
        ),
        ({"models.churn.training.schedule": "0 0 3 * * *"}, "models.churn.training.schedule", "allowed: a 5-field cron"),
        ({"models.churn.retraining.cooldown": "6 hours"}, "models.churn.retraining.cooldown", "allowed: a duration such as"),
        ({"models.churn.retraining.cooldown": "0s"}, "models.churn.retraining.cooldown", "allowed: a duration longer than zero"),
        ({"models.churn.task": "classify"}, "models.churn.task", "allowed: one of 'classification' or 'regression'"),
        (
            {"models.churn.serving.replica": 3},
            "models.churn.serving.replica",
            "unknown field; got 'replica'; allowed: a field of Serving",
        ),
        ({"models.churn.training.estimator": "LogisticRegression"}, "models.churn.training.estimator", "a dotted import path"),
        (
            {"models.churn.training.hyperparameters": {"C": [1, 2]}},
            "models.churn.training.hyperparameters.C",
            "got [1, 2]; allowed: a valid integer",
        ),
        ({"models.churn.training.resources.memory": "4GB"}, "models.churn.training.resources.memory", "a memory quantity"),
        ({"models.churn.training.resources.cpu": "-1"}, "models.churn.training.resources.cpu", "a CPU quantity"),
        ({"notifications.team.to": ["not-an-email"]}, "notifications.team.to[0]", "got 'not-an-email'"),
        (
            {"feature_store.feature_views.customer_activity.features.spend.dtype": "decimal"},
            "feature_store.feature_views.customer_activity.features.spend.dtype",
            "one of 'int32'",
        ),
        (
            {"models.churn.monitors.churn-drift.method": "chi2"},
            "models.churn.monitors.churn-drift.method",
            "allowed: one of 'psi' or 'ks'",
        ),
        ({"models.churn.monitors.churn-latency.threshold": "fast"}, "models.churn.monitors.churn-latency.threshold", "a duration"),
    ],
)
def test_a_bad_field_value_names_its_path(change: dict[str, Any], path: str, message: str) -> None:
    found = problems(change)
    lines = {p.path: p.message for p in found}
    assert path in lines, paths(found)
    assert message in lines[path]


def test_a_bad_name_names_the_field_and_the_rule() -> None:
    data = base_data()
    data["models"][0]["name"] = "Churn_Model"
    found = problems(data=data)
    assert (found[0].path, found[0].message) == (
        "models.Churn_Model.name",
        "got 'Churn_Model'; allowed: lowercase letters, digits and '-', starting with a letter and not ending with '-', "
        "at most 63 characters",
    )


def test_a_missing_required_field_is_named() -> None:
    data = base_data()
    del data["models"][0]["label"]
    assert paths(problems(data=data)) == ["models.churn.label"]
    assert problems(data=data)[0].message.startswith("missing")


def test_an_unknown_target_kind_lists_the_kinds() -> None:
    data = base_data()
    data["environments"]["dev"]["target"] = {"kind": "gcp"}
    found = problems(data=data)
    assert paths(found) == ["environments.dev.target"]
    assert "'local', 'kubernetes', 'aws'" in found[0].message


def test_an_aws_region_must_be_a_region_code() -> None:
    assert problems(environment="prod") == []  # the base is valid...
    data = base_data()
    data["environments"]["prod"]["target"]["region"] = "Ireland"
    found = problems(data=data)
    assert paths(found) == ["environments.prod.target.region"]
    assert "an AWS region code such as eu-west-1" in found[0].message


def test_an_aws_region_must_have_sagemaker_model_monitor() -> None:
    # Every pipeline computes Model Monitor's baseline; a region without its image cannot run one.
    data = base_data()
    data["environments"]["prod"]["target"]["region"] = "ap-southeast-7"  # a region code, but no Model Monitor image there
    found = problems(data=data, environment="prod")
    assert paths(found) == ["environments.prod.target.region"]
    assert "got 'ap-southeast-7'; allowed: a region SageMaker Model Monitor runs in: one of 'af-south-1'" in found[0].message


def test_an_environment_name_must_be_a_name() -> None:
    data = base_data()
    data["environments"]["Prod"] = data["environments"].pop("prod")
    found = problems(data=data)
    assert paths(found) == ["environments.Prod"]


# --- cross-field rules ---------------------------------------------------------


def test_a_trigger_naming_an_alert_that_does_not_exist() -> None:
    data = base_data()
    data["models"][0]["retraining"]["triggers"][0]["alert"] = "churn-drfit"
    found = problems(data=data)
    assert paths(found) == ["models.churn.retraining.triggers[0].alert"]
    assert "no monitor with this name; got 'churn-drfit'" in found[0].message
    assert "one of 'churn-drift', 'churn-errors', 'churn-latency', 'churn-quality'" in found[0].message


def test_a_trigger_naming_another_models_alert_says_whose_it_is() -> None:
    data = base_data()
    data["models"][1]["retraining"]["triggers"][0]["alert"] = "churn-drift"
    found = problems(data=data)
    assert paths(found) == ["models.spend.retraining.triggers[0].alert"]
    assert "this is a monitor of model 'churn'" in found[0].message


def test_a_new_data_trigger_naming_an_unknown_source() -> None:
    data = base_data()
    data["models"][0]["retraining"]["triggers"][1]["source"] = "fresh_labels"
    assert paths(problems(data=data)) == ["models.churn.retraining.triggers[1].source"]


def test_drift_on_a_feature_no_view_defines() -> None:
    data = base_data()
    data["models"][0]["monitors"][0]["features"] = ["customer_activity:sessions", "customer_activity:logins"]
    found = problems(data=data)
    assert paths(found) == ["models.churn.monitors.churn-drift.features[1]"]
    assert "no feature view defines this feature" in found[0].message


def test_drift_on_a_feature_the_model_does_not_use() -> None:
    data = base_data()
    data["models"][0]["monitors"][0]["features"] = ["customer_activity:spend"]
    found = problems(data=data)
    assert paths(found) == ["models.churn.monitors.churn-drift.features[0]"]
    assert "not an input of this model" in found[0].message


def test_drift_may_name_an_input_by_its_bare_name() -> None:
    assert problems({"models.churn.monitors.churn-drift.features": ["sessions"]}) == []


def test_a_ks_threshold_above_one() -> None:
    found = problems({"models.churn.monitors.churn-drift": {"method": "ks", "threshold": 1.5}})
    assert paths(found) == ["models.churn.monitors.churn-drift.threshold"]


def test_min_replicas_above_max() -> None:
    found = problems({"models.churn.serving.autoscaling": {"min_replicas": 5, "max_replicas": 3}})
    assert paths(found) == ["models.churn.serving.autoscaling.min_replicas"]
    assert "got 5; allowed: at most max_replicas (3)" in found[0].message


def test_replicas_outside_the_autoscaling_bounds() -> None:
    found = problems({"models.churn.serving.replicas": 9})
    assert paths(found) == ["models.churn.serving.replicas"]
    assert "allowed: 2 to 4 (the autoscaling bounds)" in found[0].message


def test_a_cpu_target_above_one_hundred_percent() -> None:
    assert paths(problems({"models.churn.serving.autoscaling.target": 150})) == ["models.churn.serving.autoscaling.target"]


def test_automatic_approval_in_prod_needs_a_gate() -> None:
    found = problems({"models.churn.training.gate": None})
    # dev allows it; prod does not, so only prod reports it.
    assert [(p.path, p.environment) for p in found] == [("models.churn.registry.approval", "prod")]
    assert "automatic approval in prod needs an evaluation gate" in found[0].message


def test_manual_approval_in_prod_needs_no_gate() -> None:
    assert problems({"models.churn.training.gate": None, "models.churn.registry.approval": "manual"}) == []


def test_a_stage_is_needed_for_an_environment_not_named_after_one() -> None:
    data = base_data()
    data["environments"]["qa"] = {"target": {"kind": "kubernetes", "gateway": "gw/internal"}}
    found = problems(data=data)
    assert paths(found) == ["environments.qa.stage"]


def test_a_declared_stage_makes_prod_rules_apply() -> None:
    data = base_data()
    data["environments"]["live"] = {"target": {"kind": "kubernetes", "gateway": "gw/internal"}, "stage": "prod"}
    data["models"][0]["training"]["gate"] = None
    found = problems(data=data, environment="live")
    assert [(p.path, p.environment) for p in found] == [("models.churn.registry.approval", "live")]


@pytest.mark.parametrize(
    ("collection", "path"),
    [
        (("models",), "models[2].name"),
        (("feature_store", "entities"), "feature_store.entities[1].name"),
        (("feature_store", "sources"), "feature_store.sources[2].name"),
        (("feature_store", "feature_views"), "feature_store.feature_views[1].name"),
        (("notifications",), "notifications[1].name"),
    ],
)
def test_duplicate_names(collection: tuple[str, ...], path: str) -> None:
    data = base_data()
    items: Any = data
    for key in collection:
        items = items[key]
    items.append(dict(items[0]))
    found = problems(data=data)
    assert path in paths(found)
    assert "declared more than once" in next(p.message for p in found if p.path == path)


def test_duplicate_features_in_a_view() -> None:
    data = base_data()
    features = data["feature_store"]["feature_views"][0]["features"]
    features.append(dict(features[0]))
    assert "feature_store.feature_views.customer_activity.features[3].name" in paths(problems(data=data))


def test_monitor_names_are_unique_across_models() -> None:
    data = base_data()
    data["models"][1]["monitors"][0]["name"] = "churn-latency"
    data["models"][1]["retraining"]["triggers"][0]["alert"] = "churn-latency"
    found = problems(data=data)
    assert "models.spend.monitors[0].name" in paths(found)


def test_a_view_naming_an_unknown_entity_or_source() -> None:
    data = base_data()
    view = data["feature_store"]["feature_views"][0]
    view["entities"] = ["client"]
    view["source"] = "clicks"
    assert paths(problems(data=data)) == [
        "feature_store.feature_views.customer_activity.entities[0]",
        "feature_store.feature_views.customer_activity.source",
    ]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("tenure_months", "a feature reference 'view:feature'"),
        ("customer_profile:tenure_months", "no feature view named 'customer_profile'"),
        ("customer_activity:age", "view 'customer_activity' has no feature named 'age'"),
    ],
)
def test_model_features_must_exist(ref: str, message: str) -> None:
    data = base_data()
    data["models"][0]["features"][1] = ref
    found = problems(data=data)
    assert paths(found)[0] == "models.churn.features[1]"
    assert message in found[0].message


def test_a_feature_listed_twice() -> None:
    data = base_data()
    data["models"][0]["features"].append("customer_activity:sessions")
    assert paths(problems(data=data)) == ["models.churn.features[2]"]


def test_the_label_source_must_exist_and_the_label_must_not_be_an_input() -> None:
    data = base_data()
    data["models"][0]["label"] = {"source": "outcomes", "column": "sessions"}
    found = problems(data=data)
    assert paths(found) == ["models.churn.label.source", "models.churn.label.column"]
    assert "leak" in found[1].message


def test_data_validation_ranges_name_inputs_and_are_ordered() -> None:
    found = problems({"models.churn.training.data_validation.ranges": {"spend": {"min": 0}, "tenure_months": {"min": 10, "max": 1}}})
    assert sorted(paths(found)) == [
        "models.churn.training.data_validation.ranges.spend",
        "models.churn.training.data_validation.ranges.tenure_months.min",
    ]


def test_metrics_must_fit_the_task() -> None:
    found = problems({"models.spend.training.gate.metric": "roc_auc", "models.churn.monitors.churn-quality.metric": "rmse"})
    assert paths(found) == ["models.churn.monitors.churn-quality.metric", "models.spend.training.gate.metric"]
    assert "a regression metric" in found[1].message


def test_notify_names_a_declared_channel() -> None:
    found = problems({"models.churn.monitors.churn-drift.notify": ["pager"]})
    assert paths(found) == ["models.churn.monitors.churn-drift.notify[0]"]
    assert "one of 'team'" in found[0].message


def test_a_canary_rolls_back_only_on_service_monitors() -> None:
    found = problems({"models.churn.serving.canary.rollback_on": ["churn-latency", "churn-drift", "churn-latncy"]})
    assert paths(found) == ["models.churn.serving.canary.rollback_on[1]", "models.churn.serving.canary.rollback_on[2]"]


def test_a_model_must_be_served_somehow() -> None:
    found = problems({"models.spend.serving.online": False})
    assert paths(found) == ["models.spend.serving.online"]


def test_a_canary_needs_online_serving() -> None:
    found = problems(
        {"models.churn.serving.online": False, "models.churn.serving.batch": {"schedule": "@daily", "input": "in", "output": "out"}}
    )
    assert paths(found) == ["models.churn.serving.canary"]


def test_aws_needs_sagemaker_instance_types() -> None:
    found = problems({"models.spend.serving.resources.instance_type": "m5.large"})
    assert [(p.path, p.environment) for p in found] == [("models.spend.serving.resources.instance_type", "prod")]


def test_a_gpu_on_aws_needs_an_accelerated_instance() -> None:
    found = problems({"models.churn.training.resources.gpu": 1})
    assert [(p.path, p.environment) for p in found] == [("models.churn.training.resources.instance_type", "prod")]
    assert problems({"models.churn.training.resources": {"gpu": 1, "instance_type": "ml.g5.xlarge"}}) == []


def test_a_default_namespace_must_fit_kubernetes_limits() -> None:
    data = base_data()
    data["name"] = "a" + "-long-platform-name" * 3 + "-abc"  # 62 characters: fine alone, too long with "-dev"
    found = problems(data=data)
    assert paths(found) == ["environments.dev.target.namespace"]


def test_a_canary_on_kubernetes_needs_a_gateway_to_split_traffic() -> None:
    data = base_data()
    data["environments"]["dev"]["target"]["gateway"] = None
    found = problems(data=data)
    assert [(p.path, p.environment) for p in found] == [("environments.dev.target.gateway", "dev")]
    assert "model 'churn' declares a canary" in found[0].message


def test_hmac_is_refused_where_alertmanager_delivers_the_alerts() -> None:
    found = problems({"retraining_webhook.auth": "hmac"})
    assert [(p.path, p.environment) for p in found] == [("retraining_webhook.auth", "dev")]
    assert "Alertmanager" in found[0].message


def test_drift_on_aws_is_measured_as_ks() -> None:
    found = problems({"models.churn.monitors.churn-drift": {"method": "psi", "threshold": 0.2}})
    assert [(p.path, p.environment) for p in found] == [("models.churn.monitors.churn-drift.method", "prod")]
    assert "allowed: 'ks'" in found[0].message


def test_on_aws_the_image_comes_from_ecr() -> None:
    data = base_data()
    data["environments"]["prod"]["overrides"] = {}  # the base image is on ghcr.io
    found = problems(data=data, environment="prod")
    assert paths(found) == ["image"]
    assert "an Amazon ECR image URI" in found[0].message


def test_on_aws_schedules_must_fit_eventbridge() -> None:
    found = problems({"models.churn.training.schedule": "0 3 1 * 1"}, environment="prod")
    assert paths(found) == ["models.churn.training.schedule"]
    assert "both the day of month and the day of week" in found[0].message


def test_on_aws_quality_metrics_are_those_model_monitor_reports() -> None:
    found = problems(
        {
            "models.churn.monitors.churn-quality.metric": "log_loss",
            "models.churn.training.gate.metric": "log_loss",
            "models.churn.training.gate.threshold": 0.5,
        },
        environment="prod",
    )
    assert paths(found) == ["models.churn.monitors.churn-quality.metric"]


def test_on_aws_every_monitor_notifies_someone() -> None:
    found = problems({"models.churn.monitors.churn-errors.notify": []}, environment="prod")
    assert paths(found) == ["models.churn.monitors.churn-errors.notify"]
    assert problems({"models.churn.monitors.churn-errors.notify": []}, environment="dev") == []
