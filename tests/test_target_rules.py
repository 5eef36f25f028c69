"""What a target refuses that the spec alone cannot see, each pinned to its field path.

Metric thresholds outside a metric's range, features named like the columns a feature view defines itself,
CloudWatch's 10 metric queries per alarm, the cron syntax Kubernetes CronJobs read, estimators and
hyperparameters the trainer could not build, and the one list of config secrets each target reads.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.loading.estimators import check_estimator, estimator_parameters, is_checked
from mlops_dsl.loading.loader import ResolvedSpec, load_platform, resolved_json
from mlops_dsl.loading.stack import REGISTRY_DATABASE_PASSWORD, config_secret_names, target_secret_names
from mlops_dsl.loading.target_rules import ALARM_METRIC_QUERIES, FEATURE_NAME, check_target, cronjob_schedules, kubernetes_cron_error
from mlops_dsl.review.markers import stand_in
from mlops_dsl.review.policy.security import config_secrets, plain_text_secrets
from mlops_dsl.review.policy.view import PlanView
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget, LocalTarget
from mlops_dsl.spec.rules import METRIC_RANGES
from mlops_dsl.spec.training import BUILT_IN_TRAINER, Metric
from tests.base_spec import paths, problems, resolve

ROOT = Path(__file__).resolve().parents[1]


def messages(found: list[Any]) -> dict[str, str]:
    return {p.path: p.message for p in found}


# --- metric thresholds ---------------------------------------------------------------------------------


def test_every_metric_has_a_range() -> None:
    assert set(METRIC_RANGES) == set(get_args(Metric))


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            {"models.churn.training.gate.threshold": 75},
            "models.churn.training.gate.threshold",
            "roc_auc is a fraction of 1, not a percent; got 75.0; allowed: roc_auc from 0 to 1",
        ),
        ({"models.churn.training.gate.threshold": -0.5}, "models.churn.training.gate.threshold", "got -0.5; allowed: roc_auc from 0 to 1"),
        ({"models.spend.training.gate.threshold": -1.0}, "models.spend.training.gate.threshold", "got -1.0; allowed: rmse at least 0"),
        (
            {"models.spend.training.gate": {"metric": "r2", "threshold": 1.5}},
            "models.spend.training.gate.threshold",
            "got 1.5; allowed: r2 at most 1",
        ),
        (
            {"models.churn.monitors.churn-quality.threshold": 1.2},
            "models.churn.monitors.churn-quality.threshold",
            "got 1.2; allowed: roc_auc from 0 to 1",
        ),
        (
            {"models.churn.training.gate.min_improvement": 1.0},
            "models.churn.training.gate.min_improvement",
            "no candidate could beat production by this much; got 1.0; allowed: less than 1 (roc_auc runs from 0 to 1)",
        ),
    ],
)
def test_a_threshold_outside_its_metrics_range(change: dict[str, Any], path: str, message: str) -> None:
    found = problems(change)
    assert paths(found) == [path]
    assert message in found[0].message


@pytest.mark.parametrize(
    "change",
    [
        {"models.churn.training.gate.threshold": 1.0},
        {"models.churn.training.gate.threshold": 0.0},
        {"models.spend.training.gate": {"metric": "r2", "threshold": -3.0}},
        {"models.spend.training.gate": {"metric": "mae", "threshold": 1e6}},
        {"models.spend.training.gate.min_improvement": 1e3},  # rmse has no upper bound
        {"models.churn.training.gate": {"metric": "roc_auc", "threshold": 0.7, "must_beat_production": False, "min_improvement": 5}},
    ],
)
def test_thresholds_the_metric_can_reach_are_accepted(change: dict[str, Any]) -> None:
    assert problems(change) == []


# --- columns a feature view defines itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason", "sources"),
    [
        ("customer_id", "'customer_id' is the join key of entity 'customer'", None),
        ("event_timestamp", "'event_timestamp' is the event timestamp of source 'activity'", None),
        (
            "ingested_at",
            "'ingested_at' is the created timestamp of source 'activity'",
            [{"name": "activity", "path": "raw/activity", "created_timestamp_field": "ingested_at"}, {"name": "labels", "path": "raw/l"}],
        ),
        (
            "seen_at",
            "'seen_at' is the event timestamp of source 'activity'",
            [{"name": "activity", "path": "raw/activity", "timestamp_field": "seen_at"}, {"name": "labels", "path": "raw/l"}],
        ),
    ],
)
def test_a_feature_named_like_a_key_or_timestamp(name: str, reason: str, sources: list[dict[str, Any]] | None) -> None:
    change: dict[str, Any] = {"feature_store.feature_views.customer_activity.features.spend.name": name}
    if sources is not None:
        change["feature_store.sources"] = sources
    found = problems(change)
    # Refused for every target: the problem is untagged, in the base spec.
    assert [(p.path, p.environment) for p in found] == [("feature_store.feature_views.customer_activity.features[2].name", "")]
    assert found[0].message.startswith(reason)


# --- CloudWatch metric queries ----------------------------------------------------------------------------


def _drift_over(count: int) -> dict[str, Any]:
    names = ["tenure_months", "sessions", *[f"f{i}" for i in range(count - 2)]]
    return {
        "feature_store.feature_views.customer_activity.features": [{"name": n, "dtype": "float64"} for n in names],
        "models.churn.features": [f"customer_activity:{n}" for n in names],
        "models.churn.monitors.churn-drift.features": [f"customer_activity:{n}" for n in names],
    }


def test_a_drift_monitor_within_the_alarm_query_limit() -> None:
    assert ALARM_METRIC_QUERIES == 10
    assert problems(_drift_over(9)) == []


def test_a_drift_monitor_over_the_alarm_query_limit_is_refused_on_aws() -> None:
    found = problems(_drift_over(10))
    assert [(p.path, p.environment) for p in found] == [("models.churn.monitors.churn-drift.features", "prod")]
    assert "10 features make a CloudWatch alarm of 11 metric queries" in found[0].message
    assert "PutMetricAlarm allows 10" in found[0].message
    assert "allowed: at most 9 features per drift monitor on AWS" in found[0].message
    assert problems(_drift_over(10), environment="dev") == []  # a Prometheus rule has no such limit


# --- SageMaker feature group columns -----------------------------------------------------------------------


def test_the_feature_name_pattern_is_botocores() -> None:
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("FeatureName")
    assert FEATURE_NAME.pattern == shape.metadata["pattern"]
    assert shape.metadata["max"] == 64


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {"feature_store.feature_views.customer_activity.features.spend.name": "spend_"},
            "feature_store.feature_views.customer_activity.features[2].name",
        ),
        (
            {"feature_store.feature_views.customer_activity.features.spend.name": "_spend"},
            "feature_store.feature_views.customer_activity.features[2].name",
        ),
        (
            {"feature_store.feature_views.customer_activity.features.spend.name": "write_time"},
            "feature_store.feature_views.customer_activity.features[2].name",
        ),
        ({"feature_store.entities.customer.join_key": "customer_id_"}, "feature_store.entities[0].join_key"),
        ({"feature_store.sources.activity.timestamp_field": "is_deleted"}, "feature_store.sources[0].timestamp_field"),
    ],
)
def test_a_column_a_feature_group_would_refuse_is_refused_on_aws(change: dict[str, Any], path: str) -> None:
    # 'spend' is the feature no model reads, so renaming it breaks no reference.
    found = problems(change)
    assert [(p.path, p.environment) for p in found] == [(path, "prod")], found
    assert "a SageMaker feature group would refuse this column" in found[0].message
    assert problems(change, environment="dev") == []  # Feast and Redis take these names


# --- Kubernetes CronJob schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cron",
    [
        "0 3 * * 1",
        "*/30 * * * *",
        "0 12 * * MON-FRI",
        "0 3 1,15 * *",
        "0 0 ? * mon",
        "5/10 * * * *",
        "0 3 * JAN-MAR *",
        "0 3 * jan/2 *",
        "0 3 * * */2",
        "0-59/60 * * * *",
        "0 3 * * 0-6",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@midnight",
    ],
)
def test_crons_kubernetes_accepts(cron: str) -> None:
    assert kubernetes_cron_error(cron) is None


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("0 3 L * *", "day of month 'L' uses a croniter extension (L, W, # or H) that Kubernetes does not read"),
        ("0 3 15W * *", "day of month '15W' uses a croniter extension"),
        ("0 3 * * 1#2", "day of week '1#2' uses a croniter extension"),
        ("0 3 * * 5L", "day of week '5L' uses a croniter extension"),
        ("H 3 * * *", "minute 'H' uses a croniter extension"),
        ("0 3 * * 7", "day of week '7' is outside 0-6 (Kubernetes numbers Sunday 0, never 7)"),
        ("0 3 * * 0-7", "day of week '0-7' is outside 0-6 (Kubernetes numbers Sunday 0, never 7)"),
        ("0 3 * * fri-mon", "day of week range 'fri-mon' runs backwards"),
        ("30-10 * * * *", "minute range '30-10' runs backwards"),
        ("*/0 * * * *", "minute '*/0' steps by 0"),
        ("0 3 * * Monday", "day of week 'Monday' is not a number or a three-letter name"),
        ("0 24 * * *", "hour '24' is outside 0-23"),
        ("0 0 0 * *", "day of month '0' is outside 1-31"),
        ("0 3 * * * 2026", "Kubernetes reads 5 fields; this has 6"),
        ("@every 1h", "'@every 1h' is not a macro Kubernetes knows"),
    ],
)
def test_crons_kubernetes_refuses(cron: str, reason: str) -> None:
    assert (kubernetes_cron_error(cron) or "").startswith(reason)


def _kubernetes_schedules(training: str | None = None, batch: str | None = None, materialization: str | None = None) -> ResolvedSpec:
    """The test platform's dev (kubernetes) environment, with schedules set past the spec's own Cron check."""
    changes: dict[str, Any] = {"models.churn.serving.batch": {"schedule": "0 2 * * *", "input": "raw/score", "output": "scores/"}}
    spec = resolve(changes, environment="dev")["dev"]
    platform = spec.platform
    churn = platform.model("churn")
    assert churn is not None and churn.serving.batch is not None
    scoring = churn.serving.batch
    if training:
        churn = churn.model_copy(update={"training": churn.training.model_copy(update={"schedule": training})})
    if batch:
        serving = churn.serving.model_copy(update={"batch": scoring.model_copy(update={"schedule": batch})})
        churn = churn.model_copy(update={"serving": serving})
    store = platform.feature_store
    if materialization:
        store = store.model_copy(update={"materialization": store.materialization.model_copy(update={"schedule": materialization})})
    models = [churn if m.name == "churn" else m for m in platform.models]
    return ResolvedSpec(spec.source, "dev", platform.model_copy(update={"models": models, "feature_store": store}))


def test_every_cronjob_schedule_is_checked_on_kubernetes() -> None:
    spec = _kubernetes_schedules(training="0 3 L * *", batch="0 3 * * 7", materialization="*/15 * * * 1#2")
    assert [path for path, _ in cronjob_schedules(spec.platform)] == [
        "feature_store.materialization.schedule",
        "models.churn.training.schedule",
        "models.churn.serving.batch.schedule",
    ]
    found = messages(check_target(spec.platform, "dev"))
    assert found["models.churn.training.schedule"].startswith("day of month 'L' uses a croniter extension")
    assert found["models.churn.serving.batch.schedule"].startswith("day of week '7' is outside 0-6")
    assert found["feature_store.materialization.schedule"].startswith("day of week '1#2' uses a croniter extension")
    assert found["models.churn.training.schedule"].endswith(
        "got '0 3 L * *'; allowed: a schedule Kubernetes CronJobs accept: 5 fields of numbers, ranges, lists, steps, '*', '?' "
        "and month or weekday names (JAN, MON), or @hourly, @daily, @weekly, @monthly or @yearly"
    )


def test_schedules_are_not_cronjobs_on_other_targets() -> None:
    spec = _kubernetes_schedules(training="0 3 L * *")
    local = spec.platform.environments["dev"].model_copy(update={"target": LocalTarget()})
    platform = spec.platform.model_copy(update={"environments": {"dev": local}})
    assert "models.churn.training.schedule" not in messages(check_target(platform, "dev"))


def test_the_spec_schedules_pass_on_kubernetes() -> None:
    spec = _kubernetes_schedules()
    assert all(kubernetes_cron_error(cron) is None for _, cron in cronjob_schedules(spec.platform))
    assert check_target(spec.platform, "dev") == []


# --- estimators and hyperparameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            {"models.churn.training.estimator": "sklearn.ensemble.RandomForestClasifier"},
            "models.churn.training.estimator",
            "sklearn.ensemble has no 'RandomForestClasifier' (did you mean 'RandomForestClassifier'?); "
            "got 'sklearn.ensemble.RandomForestClasifier'; allowed: an importable estimator class",
        ),
        (
            {"models.churn.training.estimator": "sklearn.ensembl.RandomForestClassifier"},
            "models.churn.training.estimator",
            "sklearn has no module 'ensembl' (did you mean 'ensemble'?)",
        ),
        (
            {"models.churn.training.estimator": "sklearn.__version__"},
            "models.churn.training.estimator",
            "sklearn.__version__ is a str, not a class",
        ),
        (
            {"models.churn.training.estimator": "sklearn.ensemble.StackingClassifier"},
            "models.churn.training.estimator",
            "StackingClassifier requires 'estimators', and the trainer builds it without arguments first",
        ),
        (
            {
                "models.churn.training.estimator": "sklearn.ensemble.RandomForestClassifier",
                "models.churn.training.hyperparameters.n_estimator": 5,
            },
            "models.churn.training.hyperparameters.n_estimator",
            "RandomForestClassifier has no parameter 'n_estimator' (did you mean 'n_estimators'?); got 'n_estimator'; "
            "allowed: a parameter of RandomForestClassifier: one of 'bootstrap',",
        ),
        (
            {"models.churn.training.hyperparameters.depth": 4},
            "models.churn.training.hyperparameters.depth",
            "LogisticRegression has no parameter 'depth'",
        ),
    ],
)
def test_an_estimator_the_trainer_could_not_build(change: dict[str, Any], path: str, message: str) -> None:
    found = problems(change)
    assert path in paths(found), found
    assert message in messages(found)[path]


def test_known_hyperparameters_pass() -> None:
    assert problems({"models.churn.training.hyperparameters": {"C": 0.5, "max_iter": 200, "random_state": 1}}) == []


def test_a_kwargs_estimator_takes_any_hyperparameter() -> None:
    def factory(**params: Any) -> Any:
        return params

    assert estimator_parameters(factory) is None


@pytest.mark.parametrize(
    ("target", "image", "checked"),
    [
        (LocalTarget(), None, True),
        (LocalTarget(), "registry.example.com/train:1", True),  # the local target runs here, whatever the image
        (KubernetesTarget(), None, True),
        (KubernetesTarget(), "registry.example.com/train:1", False),  # a custom image holds its own packages
        (AwsTarget(region="eu-west-1"), None, True),
        (AwsTarget(region="eu-west-1"), "1.dkr.ecr.eu-west-1.amazonaws.com/t:1", False),
    ],
)
@pytest.mark.parametrize("entrypoint", [BUILT_IN_TRAINER, "team.train"])
def test_where_the_estimator_is_checked(target: Any, entrypoint: str, image: str | None, checked: bool) -> None:
    # Every target runs the built-in trainer, which calls a custom training function itself.
    churn = resolve()["dev"].platform.model("churn")
    assert churn is not None
    model = churn.model_copy(update={"training": churn.training.model_copy(update={"entrypoint": entrypoint, "image": image})})
    assert is_checked(model, target) is checked


def test_a_training_function_that_is_nowhere_is_refused_in_every_target() -> None:
    found = problems({"models.churn.training.entrypoint": "team_nowhere.train.fit"})
    assert {(p.path, p.environment) for p in found} == {("models.churn.training.entrypoint", "")}
    assert "no module named 'team_nowhere'" in found[0].message


def test_the_built_in_trainer_needs_an_estimator() -> None:
    found = problems({"models.churn.training.estimator": None})
    assert messages(found) == {
        "models.churn.training.estimator": "got None; allowed: an importable estimator class, "
        "required unless training.entrypoint names a training function"
    }


TEAM_MODULE = '''
class TunedBooster:
    """A team's own estimator, in the platform's code."""

    def __init__(self, depth: int = 3, rate: float = 0.1) -> None:
        self.depth, self.rate = depth, rate

    def get_params(self, deep: bool = True) -> dict:
        return {"depth": self.depth, "rate": self.rate}

    def fit(self, x, y):
        return self


def build(depth: int = 3):
    """A factory: what a team writes to return a Pipeline."""
    return TunedBooster(depth=depth)


def fit(context):
    return TunedBooster().fit(context.x, context.y)


def fit_nothing():
    return None
'''


@pytest.fixture
def team_spec(tmp_path: Path) -> Path:
    """The corpus platform as a spec file whose code folder ``src/`` holds a team package (``team_<test>/boosting.py``)."""
    # A package name of its own per test: an imported package stays in sys.modules, with its first folder.
    name = "team_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    package = tmp_path / "src" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "boosting.py").write_text(TEAM_MODULE)
    shutil.copy(ROOT / "tests/corpus/_base.py", tmp_path / "_base.py")
    spec = tmp_path / "platform.py"
    spec.write_text(
        textwrap.dedent(
            f"""
            import os

            from _base import build_platform, model, training

            estimator = os.environ.get("TEAM_ESTIMATOR", "PACKAGE.boosting.TunedBooster").replace("PACKAGE", {name!r})
            entrypoint = os.environ.get("TEAM_ENTRYPOINT", "mlops_dsl.trainer").replace("PACKAGE", {name!r})
            hyperparameters = {{"depth": 5}} if "TEAM_TYPO" not in os.environ else {{"dept": 5}}
            code = os.environ.get("TEAM_CODE", "src") or None
            platform = build_platform(
                code=code,
                models=[model(training=training(estimator=estimator, entrypoint=entrypoint, hyperparameters=hyperparameters))],
            )
            """
        )
    )
    return spec


def test_a_team_estimator_in_the_code_folder_is_found(team_spec: Path) -> None:
    resolved = load_platform(team_spec)
    assert set(resolved) == {"dev", "prod"}
    assert resolved["dev"].code_dir == team_spec.parent / "src"


def test_a_team_estimator_factory_and_training_function(team_spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_ESTIMATOR", "PACKAGE.boosting.build")
    monkeypatch.setenv("TEAM_ENTRYPOINT", "PACKAGE.boosting.fit")
    assert set(load_platform(team_spec)) == {"dev", "prod"}


def test_a_training_function_that_takes_no_context(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("TEAM_ENTRYPOINT", "PACKAGE.boosting.fit_nothing")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert ": models.churn.training.entrypoint: " in err[0] and "must take one argument (the TrainingContext)" in err[0]


def test_a_team_module_beside_the_spec_but_outside_the_code(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    # The first training would find it (run from the spec's folder); no retraining run, Job or pipeline step would.
    (package,) = (team_spec.parent / "src").glob("team_*")
    package.rename(team_spec.parent / package.name)
    monkeypatch.setenv("TEAM_CODE", "")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert (
        f": models.churn.training.estimator: {package.name!r} is beside the spec but not part of the platform's code, so no target "
        "ships it (declare Platform(code=...) naming the folder that holds it)"
    ) in err[0]


def test_a_team_estimator_with_a_misspelled_parameter(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("TEAM_TYPO", "1")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err
    assert ": models.churn.training.hyperparameters.dept: TunedBooster has no parameter 'dept' (did you mean 'depth'?)" in err


def test_a_team_module_that_is_nowhere(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("TEAM_ESTIMATOR", "team_models_nowhere.boosting.TunedBooster")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert (
        ": models.churn.training.estimator: no module named 'team_models_nowhere' "
        f"(tried the installed packages and the platform's code {team_spec.parent / 'src'}); "
        "got 'team_models_nowhere.boosting.TunedBooster'; allowed: an importable estimator class"
    ) in err[0]


def test_a_team_module_that_fails_to_import(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    (package,) = (team_spec.parent / "src").glob("team_*")
    (package / "broken.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.setenv("TEAM_ESTIMATOR", "PACKAGE.broken.Thing")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err
    assert f"importing '{package.name}.broken' failed: No module named 'a_dependency_nobody_installed'" in err


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("platform.py", "platform.py would be hidden by Python's standard library module 'platform'"),
        ("json/__init__.py", "json/ would be hidden by Python's standard library module 'json'"),
        ("numpy.py", "numpy.py would be hidden by the installed module 'numpy'"),
    ],
)
def test_a_code_module_named_like_another_is_refused(team_spec: Path, file: str, reason: str, capsys: Any) -> None:
    path = team_spec.parent / "src" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("VALUE = 1\n")
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert f": code: {reason}; got '{file.partition('/')[0] + ('/' if '/' in file else '')}'" in err[0]


def test_the_spec_file_itself_may_be_called_platform_py_inside_its_code(team_spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The spec is loaded by its path, never imported by name, so it hides nothing.
    monkeypatch.setenv("TEAM_CODE", ".")
    monkeypatch.setenv("TEAM_ESTIMATOR", "src.PACKAGE.boosting.TunedBooster")
    (team_spec.parent / "src" / "__init__.py").write_text("")
    assert set(load_platform(team_spec)) == {"dev", "prod"}


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("missing", "no folder"),
        ("/abs/src", "allowed: a folder relative to the spec file"),
        ("src/.hidden", "allowed: a folder relative to the spec file"),
    ],
)
def test_a_code_folder_that_is_not_there(team_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, code: str, reason: str) -> None:
    monkeypatch.setenv("TEAM_CODE", code)
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err
    assert ": code: " in err and reason in err


def test_code_too_big_for_a_config_map_is_refused_on_kubernetes_only(team_spec: Path, capsys: Any) -> None:
    (team_spec.parent / "src" / "weights.bin").write_bytes(b"\0" * 1_200_000)
    assert main(["validate", str(team_spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "[dev]: code: 5 files hold 1,2" not in err[0]  # the count is of the code's files
    assert "[dev]: code: " in err[0] and "at most 1,000,000 bytes of code on Kubernetes" in err[0]


def test_the_check_needs_no_spec_folder() -> None:
    churn = resolve()["dev"].platform.model("churn")
    assert churn is not None
    assert list(check_estimator(churn, "models.churn")) == []


# --- config secrets -----------------------------------------------------------------------------------------


def test_the_secrets_each_target_reads() -> None:
    resolved = resolve()
    dev, prod = resolved["dev"], resolved["prod"]
    assert config_secret_names(dev) == {"retrainWebhookToken", REGISTRY_DATABASE_PASSWORD}
    assert config_secret_names(prod) == set()  # an email channel needs no secret; EventBridge needs no webhook token
    assert target_secret_names(dev.platform, LocalTarget()) == set()


def test_the_components_read_the_one_list() -> None:
    from components.kubernetes.registry import DATABASE_PASSWORD
    from components.platform import secret_config_names

    assert DATABASE_PASSWORD == REGISTRY_DATABASE_PASSWORD
    for spec in resolve().values():
        assert secret_config_names(spec) == sorted(config_secret_names(spec))


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_the_registry_database_password_in_plain_text_is_refused(
    scratch_project: Path, environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (scratch_project / "stacks/Pulumi.s.yaml").write_text(
        f"config:\n  mlops:spec: spec/platform.py\n  mlops:environment: {environment}\n  mlops:registryDatabasePassword: plain\n"
    )
    assert main(["validate", "--stack", "s"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"stacks/Pulumi.s.yaml [{environment}]: config.mlops:registryDatabasePassword: secrets must not be stored as plain text; "
        "got 'plain text'; allowed: a secret: pulumi config set --secret registryDatabasePassword <value>"
    ]


def test_the_registry_database_password_as_a_secret_passes(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (scratch_project / "stacks/Pulumi.s.yaml").write_text(
        "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: dev\n  mlops:registryDatabasePassword:\n    secure: AAABAJ0x\n"
    )
    assert main(["validate", "--stack", "s"]) == 0, capsys.readouterr().err


def test_the_policy_looks_for_every_secret_the_target_reads() -> None:
    spec = resolve()["dev"]
    leaked = {
        "type": "kubernetes:core/v1:ConfigMap",
        "name": "shop-leak",
        "inputs": {"data": {"db": f"postgresql://mlflow:{stand_in(REGISTRY_DATABASE_PASSWORD)}@db/mlflow"}},
    }
    # A plan whose own list misses the password still has it looked for.
    plan = {"environment": "dev", "secrets": [], "resources": [leaked], "artifacts": {"platform_spec": json.loads(resolved_json(spec))}}
    view = PlanView(plan)
    assert config_secrets(view) == {"retrainWebhookToken", REGISTRY_DATABASE_PASSWORD}
    assert [(f.resource, f.problem) for f in plain_text_secrets(view)] == [
        ("kubernetes:core/v1:ConfigMap::shop-leak", f"data.db holds config secret {REGISTRY_DATABASE_PASSWORD} in plain text")
    ]
    del plan["artifacts"]
    assert list(plain_text_secrets(PlanView(plan))) == []
