"""Customer churn: a tabular scikit-learn classifier that predicts which subscribers will cancel.

Features about each customer's activity and billing come from the shared
feature store; the label (did the customer cancel within 30 days?) arrives
later, as ground truth, and both retrains the model and measures its quality.
Drift in the inputs or a drop in quality retrains it; the gate decides whether
the new version replaces the one in production.

Environments: ``local`` runs everything on one machine (``mlops up``), ``dev``
and ``staging`` deploy to Kubernetes, ``prod`` to AWS SageMaker.
"""

from mlops_dsl import (
    Autoscaling,
    AwsTarget,
    BatchInference,
    Canary,
    DataCapture,
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
    LocalTarget,
    Model,
    ModelQuality,
    OnAlert,
    OnNewData,
    Platform,
    PredictionDrift,
    Range,
    Registry,
    Resources,
    Retraining,
    Serving,
    Slack,
    Source,
    Training,
)

customer = Entity(name="customer", join_key="customer_id", description="A subscriber account.")

activity = FeatureView(
    name="customer_activity",
    entities=["customer"],
    source="customer_activity",
    ttl="30d",
    features=[
        Feature(name="tenure_months", dtype="int64", description="Months since sign-up."),
        Feature(name="sessions_last_30d", dtype="int64"),
        Feature(name="avg_session_minutes", dtype="float64"),
        Feature(name="support_tickets_90d", dtype="int64"),
    ],
)

billing = FeatureView(
    name="billing",
    entities=["customer"],
    source="billing",
    ttl="35d",
    features=[
        Feature(name="monthly_charges", dtype="float64"),
        Feature(name="contract_months", dtype="int64", description="1, 12 or 24."),
        Feature(name="late_payments_12m", dtype="int64"),
    ],
)

INPUTS = [f"{view.name}:{feature.name}" for view in (activity, billing) for feature in view.features]

churn = Model(
    name="churn",
    description="Probability that a customer cancels within 30 days.",
    task="classification",
    features=INPUTS,
    label=Label(source="churn_labels", column="churned"),
    training=Training(
        estimator="sklearn.ensemble.HistGradientBoostingClassifier",
        hyperparameters={"max_iter": 100, "learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 50},
        resources=Resources(cpu="2", memory="4Gi", instance_type="ml.m5.xlarge"),
        data_validation=DataValidation(
            min_rows=1000,
            max_null_fraction=0.01,
            ranges={"tenure_months": Range(min=0, max=240), "monthly_charges": Range(min=0, max=1000)},
        ),
        gate=Gate(metric="roc_auc", threshold=0.75, must_beat_production=True),
        schedule="0 3 * * 1",
    ),
    registry=Registry(approval="automatic"),
    serving=Serving(
        replicas=2,
        resources=Resources(cpu="500m", memory="1Gi", instance_type="ml.m5.large"),
        autoscaling=Autoscaling(min_replicas=2, max_replicas=6, metric="cpu", target=70),
        canary=Canary(percent=10, bake_time="15m", rollback_on=["churn-latency-p99", "churn-error-rate"]),
        data_capture=DataCapture(sampling_percent=25),
        batch=BatchInference(schedule="0 2 * * *", input="batch/customers", output="batch/churn_scores"),
    ),
    monitors=[
        DataDrift(
            name="churn-feature-drift",
            features=["customer_activity:sessions_last_30d", "customer_activity:avg_session_minutes", "billing:monthly_charges"],
            method="psi",
            threshold=0.2,
            window="1h",
            fire_after="5m",
        ),
        PredictionDrift(name="churn-prediction-drift", method="ks", threshold=0.15, window="1h"),
        ModelQuality(name="churn-quality", metric="roc_auc", threshold=0.72, window="1d", severity="critical"),
        Latency(name="churn-latency-p99", quantile=0.99, threshold="250ms", severity="critical"),
        ErrorRate(name="churn-error-rate", threshold=0.01, severity="critical"),
    ],
    retraining=Retraining(
        triggers=[
            OnAlert(alert="churn-feature-drift"),
            OnAlert(alert="churn-quality"),
            OnNewData(source="churn_labels", min_new_rows=500),
        ],
        cooldown="6h",
        dedup_window="1h",
        max_concurrent_runs=1,
    ),
)

platform = Platform(
    name="churn",
    description="Customer churn prediction with drift- and quality-driven retraining.",
    feature_store=FeatureStore(
        project="churn",
        entities=[customer],
        sources=[
            Source(name="customer_activity", path="raw/customer_activity"),
            Source(name="billing", path="raw/billing"),
            Source(name="churn_labels", path="raw/churn_labels", description="Ground truth, 30 days after each snapshot."),
        ],
        feature_views=[activity, billing],
    ),
    models=[churn],
    notifications=[
        Slack(name="ml-oncall", channel="#ml-alerts", webhook_url_secret="slackWebhookUrl"),
        Email(name="ml-team", to=["ml-team@example.com"], sender="mlops@example.com", smarthost="smtp.example.com:587"),
    ],
    environments={
        # One machine: short windows so the feedback loop shows within minutes.
        "local": Environment(
            target=LocalTarget(),
            stage="dev",
            overrides={
                "models.churn.serving": {"replicas": 1, "autoscaling": None, "canary": None, "batch": None},
                "models.churn.monitors": {
                    "churn-feature-drift": {"window": "30s", "fire_after": "15s"},
                    "churn-prediction-drift": {"window": "30s", "fire_after": "15s"},
                },
                "models.churn.retraining": {"cooldown": "2m", "dedup_window": "1m"},
                "alerting": {"evaluation_interval": "5s", "group_wait": "5s", "group_interval": "30s", "repeat_interval": "1h"},
                "models.churn.training.data_validation.min_rows": 500,
            },
        ),
        "dev": Environment(
            target=KubernetesTarget(namespace="churn-dev"),
            overrides={
                "models.churn.serving": {"replicas": 1, "autoscaling": {"min_replicas": 1, "max_replicas": 2}, "canary": None},
                "models.churn.training.resources": {"cpu": "1", "memory": "2Gi"},
            },
        ),
        "staging": Environment(target=KubernetesTarget(namespace="churn-staging", gateway="gateway-system/internal")),
        "prod": Environment(
            target=AwsTarget(region="eu-west-1"),
            overrides={
                # SageMaker pulls images from ECR.
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime:0.1.0",
                "models.churn.registry.approval": "manual",
                "models.churn.serving.autoscaling.max_replicas": 12,
                # SageMaker Model Monitor measures drift as a KS distance.
                "models.churn.monitors.churn-feature-drift": {"method": "ks", "threshold": 0.1, "notify": ["ml-oncall"]},
            },
        ),
    },
)
