"""A small, valid platform for tests to break one field at a time.

Two models share one feature store, so cross-model rules can be exercised;
``dev`` deploys to Kubernetes and ``prod`` to AWS.
"""

from __future__ import annotations

from typing import Any

from mlops_dsl import (
    AwsTarget,
    Canary,
    DataDrift,
    DataValidation,
    Email,
    Entity,
    Environment,
    ErrorRate,
    Feature,
    FeatureStore,
    FeatureView,
    Gate,
    KubernetesTarget,
    Label,
    Latency,
    Model,
    ModelQuality,
    OnAlert,
    OnNewData,
    Platform,
    Range,
    Registry,
    Retraining,
    Serving,
    Source,
    Training,
)
from mlops_dsl.loading.loader import ResolvedSpec, resolve_data
from mlops_dsl.loading.overlay import apply_overrides
from mlops_dsl.spec.base import to_data
from mlops_dsl.spec.problems import Problem, SpecError


def base_platform() -> Platform:
    """The declaration (not yet validated) of the test platform."""
    return Platform(
        name="shop",
        feature_store=FeatureStore(
            project="shop",
            entities=[Entity(name="customer", join_key="customer_id")],
            sources=[Source(name="activity", path="raw/activity"), Source(name="labels", path="raw/labels")],
            feature_views=[
                FeatureView(
                    name="customer_activity",
                    entities=["customer"],
                    source="activity",
                    features=[
                        Feature(name="tenure_months", dtype="int64"),
                        Feature(name="sessions", dtype="int64"),
                        Feature(name="spend", dtype="float64"),
                    ],
                )
            ],
        ),
        models=[
            Model(
                name="churn",
                task="classification",
                features=["customer_activity:tenure_months", "customer_activity:sessions"],
                label=Label(source="labels", column="churned"),
                training=Training(
                    estimator="sklearn.linear_model.LogisticRegression",
                    data_validation=DataValidation(ranges={"tenure_months": Range(min=0, max=240)}),
                    gate=Gate(metric="roc_auc", threshold=0.7),
                ),
                registry=Registry(approval="automatic"),
                serving=Serving(
                    replicas=2,
                    autoscaling={"min_replicas": 2, "max_replicas": 4},
                    canary=Canary(percent=10, rollback_on=["churn-latency"]),
                ),
                monitors=[
                    DataDrift(name="churn-drift", features=["customer_activity:sessions"], method="ks", threshold=0.1, notify=["team"]),
                    ModelQuality(name="churn-quality", metric="roc_auc", threshold=0.65),
                    Latency(name="churn-latency", threshold="200ms"),
                    ErrorRate(name="churn-errors", threshold=0.01),
                ],
                retraining=Retraining(triggers=[OnAlert(alert="churn-drift"), OnNewData(source="labels")]),
            ),
            Model(
                name="spend",
                task="regression",
                features=["customer_activity:tenure_months", "customer_activity:sessions"],
                label=Label(source="labels", column="spend_next_90d"),
                training=Training(estimator="sklearn.linear_model.Ridge", gate=Gate(metric="rmse", threshold=50.0)),
                monitors=[Latency(name="spend-latency", threshold="300ms")],
                retraining=Retraining(triggers=[OnAlert(alert="spend-latency")]),
            ),
        ],
        notifications=[Email(name="team", to=["ml@example.com"], sender="alerts@example.com", smarthost="smtp.example.com:587")],
        environments={
            "dev": Environment(target=KubernetesTarget(gateway="gateway-system/internal")),
            "prod": Environment(
                target=AwsTarget(region="eu-west-1"), overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"}
            ),
        },
    )


def base_data() -> dict[str, Any]:
    """The test platform as plain data, ready to be changed and resolved."""
    data = to_data(base_platform())
    assert isinstance(data, dict)
    return data


def resolve(
    changes: dict[str, Any] | None = None, *, data: dict[str, Any] | None = None, environment: str | None = None
) -> dict[str, ResolvedSpec]:
    """Resolve the test platform (or ``data``) after applying ``changes``, given as override paths."""
    data = data if data is not None else base_data()
    if changes:
        overlay = apply_overrides(data, changes, origin="test", source="test")
        assert not overlay.problems, overlay.problems
        data = overlay.data
    return resolve_data(data, source="spec.py", environment=environment)


def problems(changes: dict[str, Any] | None = None, *, data: dict[str, Any] | None = None, environment: str | None = None) -> list[Problem]:
    """The problems the changed test platform has (empty when it is valid)."""
    try:
        resolve(changes, data=data, environment=environment)
    except SpecError as error:
        return error.problems
    return []


def paths(found: list[Problem]) -> list[str]:
    """Just the field paths of some problems."""
    return [problem.path for problem in found]
