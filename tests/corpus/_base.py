"""Building blocks for the malformed-spec corpus.

Each helper returns a valid part of a small churn platform; keyword arguments
replace fields, so a corpus file spells out only the mistake it is about.
"""

from typing import Any

from mlops_dsl import (
    AwsTarget,
    Canary,
    DataDrift,
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
    Platform,
    Registry,
    Retraining,
    Serving,
    Source,
    Training,
)


def view(**changes: Any) -> FeatureView:
    return FeatureView(
        **{
            "name": "customer_activity",
            "entities": ["customer"],
            "source": "activity",
            "features": [
                Feature(name="tenure_months", dtype="int64"),
                Feature(name="sessions", dtype="int64"),
                Feature(name="spend", dtype="float64"),
            ],
            **changes,
        }
    )


def feature_store(**changes: Any) -> FeatureStore:
    return FeatureStore(
        **{
            "project": "churn",
            "entities": [Entity(name="customer", join_key="customer_id")],
            "sources": [Source(name="activity", path="raw/activity"), Source(name="labels", path="raw/labels")],
            "feature_views": [view()],
            **changes,
        }
    )


def monitors() -> list[Any]:
    return [
        DataDrift(name="churn-drift", features=["customer_activity:sessions"], method="ks", threshold=0.1),
        ModelQuality(name="churn-quality", metric="roc_auc", threshold=0.7),
        Latency(name="churn-latency", threshold="250ms"),
        ErrorRate(name="churn-errors", threshold=0.01),
    ]


def training(**changes: Any) -> Training:
    return Training(
        **{
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            "gate": Gate(metric="roc_auc", threshold=0.75),
            **changes,
        }
    )


def serving(**changes: Any) -> Serving:
    return Serving(
        **{
            "replicas": 2,
            "autoscaling": {"min_replicas": 2, "max_replicas": 4},
            "canary": Canary(percent=10, rollback_on=["churn-latency", "churn-errors"]),
            **changes,
        }
    )


def model(**changes: Any) -> Model:
    return Model(
        **{
            "name": "churn",
            "task": "classification",
            "features": ["customer_activity:tenure_months", "customer_activity:sessions"],
            "label": Label(source="labels", column="churned"),
            "training": training(),
            "registry": Registry(approval="automatic"),
            "serving": serving(),
            "monitors": monitors(),
            "retraining": Retraining(triggers=[OnAlert(alert="churn-drift")]),
            **changes,
        }
    )


def build_platform(**changes: Any) -> Platform:
    return Platform(
        **{
            "name": "churn",
            "feature_store": feature_store(),
            "models": [model()],
            "notifications": [Email(name="team", to=["ml@example.com"], sender="alerts@example.com", smarthost="smtp.example.com:587")],
            "environments": {
                "dev": Environment(target=KubernetesTarget(gateway="gateway-system/internal")),
                "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"}),
            },
            **changes,
        }
    )
