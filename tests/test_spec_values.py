"""Values a valid spec may hold: finite numbers, strict types, ASCII names, durations that fit, crons that fire.

Each refusal is pinned to its field path and to what the line says is
allowed, whether the value comes from the spec or from a stack file's YAML;
the legitimate forms (dicts for sections, strings for choices, integers for
numbers, numbers for CPU) still load.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BeforeValidator
from pydantic.types import Strict

from mlops_dsl.cli.main import main
from mlops_dsl.loading.loader import load_platform, resolved_json
from mlops_dsl.runtime.retraining.backends import LocalProcessBackend
from mlops_dsl.runtime.retraining.service import RetrainingTrigger, next_fire
from mlops_dsl.runtime.retraining.store import TriggerStore
from mlops_dsl.spec import durations
from mlops_dsl.spec.base import SpecModel
from mlops_dsl.spec.retraining import OnSchedule
from tests.base_spec import base_data, problems, resolve

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = float("nan"), float("inf")


def only(found: list[Any], path: str) -> str:
    """The message of the one problem at ``path`` (and there is no other problem)."""
    assert [p.path for p in found] == [path], [p.render() for p in found]
    return str(found[0].message)


# --- NaN and infinity ----------------------------------------------------------

FINITE = "a finite number (not NaN or infinity)"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("models.churn.training.gate.threshold", NAN),
        ("models.churn.training.gate.threshold", -INF),
        ("models.churn.training.gate.min_improvement", INF),
        ("models.churn.serving.autoscaling.target", INF),
        ("models.churn.monitors.churn-errors.threshold", NAN),
        ("models.churn.monitors.churn-drift.threshold", INF),
        ("models.churn.monitors.churn-quality.threshold", NAN),
        ("models.churn.monitors.churn-latency.quantile", NAN),
        ("models.churn.training.data_validation.max_null_fraction", NAN),
        ("models.churn.training.data_validation.ranges.tenure_months.max", INF),
        ("models.churn.training.split.test_fraction", NAN),
    ],
)
def test_nan_and_infinity_are_refused(path: str, value: float) -> None:
    assert f"allowed: {FINITE}" in only(problems({path: value}), path)


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_a_hyperparameter_is_finite_too(value: float) -> None:
    path = "models.churn.training.hyperparameters.C"
    assert only(problems({path: value}), path) == f"got {value!r}; allowed: a valid integer, finite number, string or boolean"


@pytest.mark.parametrize("value", [NAN, INF])
def test_cpu_given_as_a_number_is_finite(value: float) -> None:
    path = "models.churn.training.resources.cpu"
    assert only(problems({path: value}), path) == f"got {value!r}; allowed: a CPU quantity such as 2, 0.5 or 500m"


def test_a_resolved_platform_is_strict_json(tmp_path: Path) -> None:
    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} in the resolved JSON")

    for name, spec in load_platform(ROOT / "examples/churn/platform.py").items():
        text = resolved_json(spec)
        json.loads(text, parse_constant=refuse)
        # ...and JSON's own forms (lists, strings for choices, dicts for sections) load back under strict types.
        again = tmp_path / f"{name}.json"
        again.write_text(text)
        loaded = load_platform(again)[name].platform
        assert loaded.model_dump(exclude={"environments"}) == spec.platform.model_dump(exclude={"environments"})


# --- strict numbers and flags ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("models.churn.serving.replicas", "3", "number in quotes; got '3'; allowed: an integer, 1 to 1000"),
        ("models.churn.serving.replicas", 3.0, "got 3.0; allowed: an integer, 1 to 1000"),
        ("models.churn.serving.replicas", True, "got True; allowed: an integer, 1 to 1000"),
        ("models.churn.serving.canary.percent", True, "got True; allowed: an integer, 1 to 99"),
        ("models.churn.serving.canary.percent", 10.5, "got 10.5; allowed: an integer, 1 to 99"),
        ("models.churn.training.data_validation.min_rows", 500.0, "got 500.0; allowed: an integer, 1 to 1000000000000"),
        ("models.churn.retraining.max_concurrent_runs", "2", "got '2'; allowed: an integer, 1 to 10"),
        ("models.churn.training.resources.gpu", False, "got False; allowed: an integer, 0 to 16"),
        ("models.churn.serving.online", 1, "got 1; allowed: true or false"),
        ("models.churn.serving.public", "no", "got 'no'; allowed: true or false"),
        ("models.churn.training.gate.must_beat_production", "true", "got 'true'; allowed: true or false"),
        ("models.churn.monitors.churn-errors.threshold", "0.01", "got '0.01'; allowed: a number, more than 0.0 and less than 1.0"),
        ("models.churn.monitors.churn-errors.threshold", True, "got True; allowed: a number, more than 0.0 and less than 1.0"),
        ("models.churn.monitors.churn-errors.threshold", "1e-3", "YAML reads 1e-3 as text: write 1.0e-3 or 0.001"),
        ("models.churn.description", 3, "got 3; allowed: a string"),
        ("models.churn.monitors", "churn-drift", "got 'churn-drift'; allowed: a list"),
    ],
)
def test_numbers_and_flags_are_not_coerced(path: str, value: Any, message: str) -> None:
    assert message in only(problems({path: value}), path)


def test_the_legitimate_forms_still_load() -> None:
    # Integers for numbers, numbers for CPU, dicts for sections, strings for choices and durations.
    assert (
        problems(
            {
                "models.churn.monitors.churn-errors.threshold": 0.05,
                "models.churn.serving.autoscaling": {"min_replicas": 2, "max_replicas": 4, "metric": "requests_per_second", "target": 50},
                "models.churn.training.resources.cpu": 2,
                "models.churn.serving.resources": {"cpu": 0.5, "memory": "1Gi"},
                "models.churn.serving.canary.bake_time": "1h30m",
                "models.churn.registry.approval": "manual",
                "models.churn.training.hyperparameters": {"C": 1, "penalty": "l2", "fit_intercept": True, "tol": 1e-4},
                "models.churn.training.schedule": "0 3 * * mon-fri",
            },
            environment="dev",
        )
        == []
    )


# --- ASCII names and quantities, matched whole -------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "allowed"),
    [
        ("models.churn.label.column", "churned\n", "lowercase letters, digits and '_'"),
        ("feature_store.entities.customer.join_key", "customer_id\n", "lowercase letters, digits and '_'"),
        ("models.churn.training.resources.cpu", "2\n", "a CPU quantity"),
        ("models.churn.training.resources.cpu", "\u0662", "a CPU quantity"),
        ("models.churn.training.resources.cpu", "\uff1500m", "a CPU quantity"),
        ("models.churn.training.resources.memory", "\uff14Gi", "a memory quantity"),
        ("models.churn.training.resources.memory", "4Gi\n", "a memory quantity"),
        ("notifications.team.smarthost", "smtp.example.com:\u0665\u0668\u0667", "an SMTP server as host:port"),
        ("notifications.team.smarthost", "smtp.example.com:99999", "a port from 1 to 65535"),
        ("retraining_webhook.secret", "retrainWebhookToken\n", "a config key name"),
        ("models.churn.training.estimator", "sklearn.linear_model.LogisticRegression\n", "a dotted import path"),
        ("models.churn.training.estimator", "sklearn.linear_model.L\u00f6gistic", "a dotted import path"),
        ("models.churn.training.entrypoint", "train; rm -rf /", "a training function of the team's code as module.function"),
        ("models.churn.training.image", "ghcr.io/acme/trainer:1\n", "a container image reference"),
        ("image", "Ghcr.io/Acme/Runtime:1", "a container image reference"),
        ("models.churn.training.resources.instance_type", "ml.m5.large\n", "an instance type such as ml.m5.large"),
        ("models.churn.training.hyperparameters", {"max depth": 3}, "a parameter name"),
        ("feature_store.offline_store.kubernetes.storage_class", "EFS SC", "a Kubernetes object name"),
    ],
)
def test_names_and_quantities_are_ascii_and_whole(path: str, value: Any, allowed: str) -> None:
    found = problems({path: value})
    assert len(found) == 1, [p.render() for p in found]
    assert found[0].path.startswith(path) and allowed in found[0].message


def test_a_name_with_a_newline_is_refused_on_one_line() -> None:
    data = base_data()
    data["models"][0]["name"] = "churn\n"
    found = problems(data=data)
    # The path falls back to the position: the name would break the line.
    assert [p.path for p in found] == ["models[0].name"]
    assert "\n" not in found[0].render()


@pytest.mark.parametrize(
    ("where", "value", "allowed"),
    [
        ("region", "eu-west-1\n", "an AWS region code"),
        ("region", "eu-west-\u0661", "an AWS region code"),
        ("account_id", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662", "a 12-digit AWS account id"),
    ],
)
def test_aws_target_codes_are_ascii_and_whole(where: str, value: str, allowed: str) -> None:
    data = base_data()
    data["environments"]["prod"]["target"][where] = value
    found = problems(data=data)
    assert [p.path for p in found] == [f"environments.prod.target.{where}"] and allowed in found[0].message


@pytest.mark.parametrize(
    ("where", "value", "allowed"),
    [
        ("gateway", "gateway-system/internal\n", "a Gateway API gateway"),
        ("storage_class", "gp3\n", "a Kubernetes object name"),
        ("prometheus_labels", {"release": "kube prometheus"}, "a Kubernetes label value"),
        ("prometheus_labels", {"-release": "x"}, "a Kubernetes label key"),
    ],
)
def test_kubernetes_target_values_are_what_the_api_accepts(where: str, value: Any, allowed: str) -> None:
    data = base_data()
    data["environments"]["dev"]["target"][where] = value
    found = problems(data=data)
    assert len(found) == 1 and found[0].path.startswith(f"environments.dev.target.{where}") and allowed in found[0].message


def test_a_local_host_is_a_host() -> None:
    data = base_data()
    data["environments"]["local"] = {"target": {"kind": "local", "host": "127.0.0.1\n"}, "stage": "dev"}
    found = problems(data=data)
    assert [p.path for p in found] == ["environments.local.target.host"]


# --- bounds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("models.churn.serving.autoscaling.target", 10**7, "got 10000000; allowed: more than 0 and at most 100000"),
        ("models.churn.training.split.seed", -1, "got -1; allowed: 0 to 4294967295"),
        ("models.churn.training.split.seed", 2**32, "allowed: 0 to 4294967295"),
        ("models.churn.registry.keep_versions", 10**13, "allowed: 1 to 1000000000000"),
        ("models.churn.monitors.churn-quality.min_labels", 0, "allowed: 1 to 1000000000000"),
        ("models.churn.training.hyperparameters.max_iter", 10**20, "a valid integer, finite number"),
    ],
)
def test_numbers_stay_within_what_the_targets_take(path: str, value: Any, message: str) -> None:
    assert message in only(problems({path: value}), path)


# --- durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("99999999999999d", "too long; got '99999999999999d'; allowed: a duration of at most 106751d"),
        ("106752d", "too long; got '106752d'"),
        (timedelta(days=200_000), "too long"),
        ("1e400s", "allowed: a duration such as 250ms"),
        ("\u0665m", "got '\u0665m'; allowed: a duration such as 250ms"),
        ("5m\n5m", "allowed: a duration such as 250ms"),
        (timedelta(microseconds=1500), "finer than a millisecond"),
    ],
)
def test_durations_fit_what_the_targets_hold(value: Any, message: str) -> None:
    path = "models.churn.retraining.cooldown"
    assert message in only(problems({path: value}), path)


def test_the_longest_duration_loads_and_prints_back() -> None:
    assert problems({"models.churn.retraining.cooldown": "106751d"}) == []
    assert durations.format(durations.parse("106751d")) == "15250w1d"
    assert durations.parse("1h30m250ms") == timedelta(hours=1, minutes=30, milliseconds=250)
    with pytest.raises(durations.DurationTooLongError):
        durations.parse("99999999999999999999w")


# --- crons -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 0 31 2 *", "it never fires: none of its months has that day; got '0 0 31 2 *'; allowed: a schedule that fires"),
        ("0 0 30 2 *", "it never fires"),
        ("0 0 31 4,6,9,11 *", "it never fires"),
        ("0 25 * * *", "got '0 25 * * *'; allowed: a 5-field cron expression"),
        ("*/0 * * * *", "got '*/0 * * * *'; allowed: a 5-field cron expression"),
        ("\u0663 0 * * *", "allowed: a 5-field cron expression"),
        ("0 0 * * * *", "6 fields; got '0 0 * * * *'"),
        ("@reboot", "allowed: a 5-field cron expression"),
    ],
)
def test_a_cron_must_be_one_croniter_reads_and_fire(cron: str, message: str) -> None:
    # What only one target's scheduler refuses (7 for Sunday, L, W, # on Kubernetes) is that target's rule.
    path = "models.churn.training.schedule"
    assert message in only(problems({path: cron}), path)


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 31 2 1", "*/15 9-17 * * MON-FRI", "0 3 1 jan,jul *", "5/20 * * * *", "@yearly"])
def test_crons_that_fire_are_accepted(cron: str) -> None:
    # dev deploys to Kubernetes; EventBridge (prod) refuses both day fields at once, a rule of its own.
    assert problems({"models.churn.training.schedule": cron}, environment="dev") == []


def test_a_cron_is_kept_with_single_spaces() -> None:
    resolved = resolve({"models.churn.training.schedule": "  0  3 * *\t1\n"}, environment="dev")["dev"]
    assert resolved.platform.model("churn").training.schedule == "0 3 * * 1"


# --- the same values from a stack file ---------------------------------------------------


def validate_stack(project: Path, overrides: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    body = "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: staging\n  mlops:overrides:\n" + overrides
    (project / "stacks" / "Pulumi.staging.yaml").write_text(body)
    code = main(["validate", "--stack", "staging"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


BLAME = "stacks/Pulumi.staging.yaml [staging]: "


@pytest.mark.parametrize(
    ("yaml_line", "line"),
    [
        ("models.churn.training.gate.threshold: .nan", f"models.churn.training.gate.threshold: got nan; allowed: {FINITE}"),
        (
            "models.churn.serving.autoscaling.target: .inf",
            f"models.churn.serving.autoscaling.target: got inf; allowed: {FINITE}, more than 0 and at most 100000",
        ),
        (
            "models.churn.serving.replicas: '3'",
            "models.churn.serving.replicas: a number in quotes; got '3'; allowed: an integer, 1 to 1000",
        ),
        ("models.churn.serving.replicas: 3.0", "models.churn.serving.replicas: got 3.0; allowed: an integer, 1 to 1000"),
        ("models.churn.serving.canary.percent: true", "models.churn.serving.canary.percent: got True; allowed: an integer, 1 to 99"),
        ("models.churn.serving.online: 'yes'", "models.churn.serving.online: got 'yes'; allowed: true or false"),
        (
            "models.churn.monitors.churn-error-rate.threshold: 1e-3",
            "models.churn.monitors.churn-error-rate.threshold: text, not a number (YAML reads 1e-3 as text: write 1.0e-3 or 0.001); "
            "got '1e-3'; allowed: a number, more than 0.0 and less than 1.0",
        ),
        (
            "models.churn.training.resources.memory: \uff14Gi",
            "models.churn.training.resources.memory: got '\uff14Gi'; allowed: a memory quantity",
        ),
        ("models.churn.retraining.cooldown: 99999999999999d", "models.churn.retraining.cooldown: too long; got '99999999999999d'"),
        ("models.churn.training.schedule: 0 0 31 2 *", "models.churn.training.schedule: it never fires"),
    ],
)
def test_a_stack_file_value_is_refused_the_same_way(
    scratch_project: Path, capsys: pytest.CaptureFixture[str], yaml_line: str, line: str
) -> None:
    code, lines = validate_stack(scratch_project, f"    {yaml_line}\n", capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(BLAME + line), lines


def test_a_stack_file_with_yaml_numbers_flags_and_durations_validates(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = (
        "    models.churn.serving.replicas: 3\n"
        "    models.churn.serving.autoscaling: {min_replicas: 2, max_replicas: 8, metric: requests_per_second, target: 40}\n"
        "    models.churn.serving.canary: {percent: 20, bake_time: 30m}\n"
        "    models.churn.serving.public: false\n"
        "    models.churn.monitors.churn-error-rate.threshold: 0.02\n"
        "    models.churn.training.resources.cpu: 4\n"
        "    models.churn.training.schedule: '0 4 * * SUN'\n"
        "    models.churn.training.hyperparameters: {max_iter: 200, learning_rate: 0.05, early_stopping: true}\n"
    )
    code, lines = validate_stack(scratch_project, overrides, capsys)
    assert (code, lines) == (0, [])


# --- the local trigger's schedule loop ---------------------------------------------------


def test_next_fire_gives_none_for_a_cron_that_never_fires() -> None:
    assert next_fire("0 0 31 2 *", "2026-01-01T00:00:00+00:00") is None
    assert next_fire("0 * * * *", "not a time") is None
    assert next_fire("0 * * * *", "2026-01-01T00:30:00+00:00") == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def test_one_schedule_that_never_fires_does_not_stop_the_others(tmp_path: Path) -> None:
    platform = load_platform(ROOT / "examples/churn/platform.py", environment="local")["local"].platform
    churn = platform.model("churn")
    # Built past validation, as a state from an older spec could hold it.
    never = OnSchedule.model_construct(cron="0 0 31 2 *")
    hourly = OnSchedule.model_construct(cron="0 * * * *")
    retraining = churn.retraining.model_copy(update={"triggers": [never, hourly]})
    training = churn.training.model_copy(update={"schedule": None})
    platform = platform.model_copy(update={"models": [churn.model_copy(update={"retraining": retraining, "training": training})]})

    now = [datetime(2026, 11, 24, 12, 0, tzinfo=UTC)]
    standin = ROOT / "tests" / "helpers" / "standin_trainer.py"
    backend = LocalProcessBackend([sys.executable, str(standin), "30", "{result}", "{reason}"], tmp_path / "runs")
    trigger = RetrainingTrigger(platform, TriggerStore(tmp_path / "trigger.db"), backend, clock=lambda: now[0])
    try:
        assert trigger.check_schedules() == []  # the first look remembers the time
        now[0] += timedelta(minutes=61)
        [decision] = trigger.check_schedules()
        assert decision["kind"] == "started" and decision["trigger"] == "schedule"
    finally:
        for child in backend._children.values():
            child.kill()
            child.wait()


# --- every number and flag of the spec is strict -------------------------------------------


def _spec_models() -> list[type[SpecModel]]:
    found: list[type[SpecModel]] = []
    pending: list[type[SpecModel]] = [SpecModel]
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def _is_strict(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(meta, Strict) and meta.strict for meta in metadata):
        return True
    if get_origin(annotation) is Annotated:
        return _is_strict(get_args(annotation)[0], list(get_args(annotation)[1:]))
    return False


def _loose_numbers(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field's type holds an int, float or bool that pydantic would coerce."""
    if annotation in (int, float, bool):
        return not _is_strict(annotation, metadata)
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        if any(isinstance(meta, BeforeValidator) for meta in extra):
            return False  # a validator of its own decides (CPU quantities, hyperparameters)
        return _loose_numbers(inner, [*metadata, *extra])
    if get_origin(annotation) in (Union, UnionType):
        return any(_loose_numbers(member, []) for member in get_args(annotation) if member is not type(None))
    if get_origin(annotation) in (list, dict):
        return any(_loose_numbers(member, []) for member in get_args(annotation))
    return False


def test_every_number_and_flag_of_the_spec_is_strict() -> None:
    loose = [
        f"{model.__name__}.{name}"
        for model in _spec_models()
        for name, field in model.model_fields.items()
        if _loose_numbers(field.annotation, list(field.metadata))
    ]
    assert loose == [], "declare these StrictInt, StrictFloat or StrictBool"
