"""A platform with N churn-like models (N from MLOPS_BENCH_MODELS, default 1), for the planning benchmark.

Every model is complete: features from the shared store, a gated training
pipeline, manual approval, two replicas with autoscaling and data capture,
drift, quality, latency and error-rate monitors, and alert-driven retraining.
Environment ``k8s`` deploys to Kubernetes, ``aws`` to SageMaker, both as prod.
"""

import os

from mlops_dsl import (
    Autoscaling,
    AwsTarget,
    DataCapture,
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
    Resources,
    Retraining,
    Serving,
    Source,
    Training,
)

COUNT = int(os.environ.get("MLOPS_BENCH_MODELS", "1"))

activity = FeatureView(
    name="activity",
    entities=["customer"],
    source="activity",
    ttl="30d",
    features=[
        Feature(name="tenure_months", dtype="int64"),
        Feature(name="sessions_last_30d", dtype="int64"),
        Feature(name="avg_session_minutes", dtype="float64"),
        Feature(name="monthly_charges", dtype="float64"),
    ],
)
INPUTS = [f"activity:{feature.name}" for feature in activity.features]


def model(index: int) -> Model:
    name = f"model{index:02d}"
    return Model(
        name=name,
        task="classification",
        features=INPUTS,
        label=Label(source="labels", column="churned"),
        training=Training(
            estimator="sklearn.ensemble.HistGradientBoostingClassifier",
            hyperparameters={"max_iter": 100},
            resources=Resources(cpu="1", memory="2Gi", instance_type="ml.m5.large"),
            gate=Gate(metric="roc_auc", threshold=0.75),
        ),
        registry=Registry(approval="manual"),
        serving=Serving(
            replicas=2,
            resources=Resources(cpu="500m", memory="1Gi", instance_type="ml.m5.large"),
            autoscaling=Autoscaling(min_replicas=2, max_replicas=4, metric="cpu", target=70),
            data_capture=DataCapture(sampling_percent=10),
        ),
        monitors=[
            DataDrift(name=f"{name}-drift", features=INPUTS[:2], method="ks", threshold=0.1),
            ModelQuality(name=f"{name}-quality", metric="roc_auc", threshold=0.7),
            Latency(name=f"{name}-latency", threshold="200ms"),
            ErrorRate(name=f"{name}-errors", threshold=0.01),
        ],
        retraining=Retraining(triggers=[OnAlert(alert=f"{name}-drift"), OnAlert(alert=f"{name}-quality")]),
    )


platform = Platform(
    name="bench",
    feature_store=FeatureStore(
        project="bench",
        entities=[Entity(name="customer", join_key="customer_id")],
        sources=[Source(name="activity", path="raw/activity"), Source(name="labels", path="raw/labels")],
        feature_views=[activity],
    ),
    models=[model(index) for index in range(1, COUNT + 1)],
    notifications=[Email(name="ml-team", to=["ml-team@example.com"], sender="mlops@example.com", smarthost="smtp.example.com:587")],
    environments={
        "k8s": Environment(target=KubernetesTarget(namespace="bench"), stage="prod"),
        "aws": Environment(
            target=AwsTarget(region="eu-west-1"),
            stage="prod",
            overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime:0.1.0"},
        ),
    },
)
