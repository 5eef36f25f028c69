"""Retail: three models that share one feature store.

- ``fraud`` scores each card payment (customer and merchant features);
- ``ltv`` predicts a customer's spend over the next 90 days (regression);
- ``promo-response`` predicts who will answer a promotion, scored nightly in batch.

They read the same customer feature views, so a change to a view shows up in
every model that uses it, and each model has its own monitors, gate and
retraining policy. Prod runs on a Kubernetes cluster.
"""

from mlops_dsl import (
    Autoscaling,
    BatchInference,
    Canary,
    DataDrift,
    DataValidation,
    Entity,
    Environment,
    ErrorRate,
    Feature,
    FeatureStore,
    FeatureView,
    FileOfflineStore,
    Gate,
    KubernetesTarget,
    Label,
    Latency,
    LocalTarget,
    Model,
    ModelQuality,
    OnAlert,
    OnNewData,
    OnSchedule,
    PagerDuty,
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
    Webhook,
)

customer = Entity(name="customer", join_key="customer_id")
merchant = Entity(name="merchant", join_key="merchant_id")

profile = FeatureView(
    name="customer_profile",
    entities=["customer"],
    source="customers",
    ttl="400d",
    features=[
        Feature(name="account_age_days", dtype="int64"),
        Feature(name="loyalty_tier", dtype="int32", description="0 (none) to 3 (gold)."),
        Feature(name="avg_basket_value", dtype="float64"),
    ],
)

spend = FeatureView(
    name="customer_spend_7d",
    entities=["customer"],
    source="transactions",
    ttl="7d",
    features=[
        Feature(name="txn_count_7d", dtype="int64"),
        Feature(name="txn_amount_7d", dtype="float64"),
        Feature(name="distinct_merchants_7d", dtype="int64"),
        Feature(name="chargebacks_90d", dtype="int64"),
    ],
)

engagement = FeatureView(
    name="customer_engagement_7d",
    entities=["customer"],
    source="sessions",
    ttl="7d",
    features=[
        Feature(name="sessions_7d", dtype="int64"),
        Feature(name="cart_abandon_rate_7d", dtype="float64"),
        Feature(name="email_open_rate_30d", dtype="float64"),
    ],
)

merchant_risk = FeatureView(
    name="merchant_risk",
    entities=["merchant"],
    source="merchants",
    ttl="30d",
    features=[
        Feature(name="merchant_fraud_rate_30d", dtype="float64"),
        Feature(name="merchant_txn_count_30d", dtype="int64"),
    ],
)


def refs(view: FeatureView, *names: str) -> list[str]:
    """Feature references 'view:feature' for some (or all) of a view's features."""
    chosen = names or tuple(feature.name for feature in view.features)
    return [f"{view.name}:{name}" for name in chosen]


fraud = Model(
    name="fraud",
    description="Probability that a card payment is fraudulent.",
    task="classification",
    features=refs(spend) + refs(profile, "account_age_days") + refs(merchant_risk),
    label=Label(source="fraud_labels", column="is_fraud"),
    training=Training(
        estimator="sklearn.ensemble.HistGradientBoostingClassifier",
        hyperparameters={"max_iter": 300, "learning_rate": 0.05, "class_weight": "balanced"},
        resources=Resources(cpu="4", memory="8Gi", instance_type="ml.m5.2xlarge"),
        data_validation=DataValidation(min_rows=5000, ranges={"txn_amount_7d": Range(min=0)}),
        gate=Gate(metric="recall", threshold=0.8, must_beat_production=True, min_improvement=0.005),
        schedule="0 1 * * *",
    ),
    registry=Registry(approval="manual"),
    serving=Serving(
        replicas=3,
        resources=Resources(cpu="1", memory="1Gi"),
        autoscaling=Autoscaling(min_replicas=3, max_replicas=20, metric="requests_per_second", target=200),
        canary=Canary(percent=5, bake_time="30m", rollback_on=["fraud-latency-p99", "fraud-errors"]),
    ),
    monitors=[
        DataDrift(name="fraud-input-drift", features=refs(spend, "txn_amount_7d", "txn_count_7d"), method="ks", threshold=0.1),
        ModelQuality(name="fraud-recall", metric="recall", threshold=0.75, window="7d", severity="critical", notify=["fraud-pager"]),
        Latency(name="fraud-latency-p99", threshold="50ms", severity="critical", notify=["fraud-pager"]),
        ErrorRate(name="fraud-errors", threshold=0.001, severity="critical", notify=["fraud-pager"]),
    ],
    retraining=Retraining(
        triggers=[OnAlert(alert="fraud-input-drift"), OnAlert(alert="fraud-recall"), OnNewData(source="fraud_labels", min_new_rows=1000)],
        cooldown="12h",
        dedup_window="2h",
    ),
)

ltv = Model(
    name="ltv",
    description="Spend over the next 90 days.",
    task="regression",
    features=refs(profile) + refs(spend, "txn_count_7d", "txn_amount_7d") + refs(engagement, "sessions_7d"),
    label=Label(source="ltv_labels", column="spend_next_90d"),
    training=Training(
        estimator="sklearn.ensemble.HistGradientBoostingRegressor",
        hyperparameters={"max_iter": 400, "learning_rate": 0.03},
        gate=Gate(metric="rmse", threshold=120.0, must_beat_production=True),
    ),
    registry=Registry(approval="automatic"),
    serving=Serving(replicas=2, autoscaling=Autoscaling(min_replicas=2, max_replicas=6)),
    monitors=[
        PredictionDrift(name="ltv-prediction-drift", method="psi", threshold=0.25, window="6h"),
        ModelQuality(name="ltv-rmse", metric="rmse", threshold=150.0, window="30d"),
        Latency(name="ltv-latency-p99", threshold="200ms"),
    ],
    retraining=Retraining(triggers=[OnAlert(alert="ltv-prediction-drift"), OnSchedule(cron="0 4 * * 0")], cooldown="1d"),
)

promo = Model(
    name="promo-response",
    description="Probability that a customer redeems this week's promotion; scored in batch.",
    task="classification",
    features=refs(profile, "loyalty_tier", "avg_basket_value") + refs(engagement),
    label=Label(source="promo_labels", column="redeemed"),
    training=Training(
        estimator="sklearn.linear_model.LogisticRegression",
        hyperparameters={"C": 0.5, "max_iter": 500},
        resources=Resources(cpu="1", memory="2Gi"),
        data_validation=DataValidation(ranges={"cart_abandon_rate_7d": Range(min=0, max=1), "email_open_rate_30d": Range(min=0, max=1)}),
        gate=Gate(metric="roc_auc", threshold=0.65, must_beat_production=False),
    ),
    registry=Registry(approval="automatic"),
    serving=Serving(
        online=False,
        batch=BatchInference(schedule="0 5 * * 1", input="batch/promo_audience", output="batch/promo_scores", replicas=2),
    ),
    monitors=[ModelQuality(name="promo-auc", metric="roc_auc", threshold=0.6, window="14d", notify=["marketing-webhook"])],
    retraining=Retraining(triggers=[OnAlert(alert="promo-auc"), OnNewData(source="promo_labels", min_new_rows=2000)], cooldown="3d"),
)

platform = Platform(
    name="retail",
    description="Fraud, lifetime value and promotion response on one shared feature store.",
    feature_store=FeatureStore(
        project="retail",
        entities=[customer, merchant],
        sources=[
            Source(name="customers", path="raw/customers"),
            Source(name="transactions", path="raw/transactions"),
            Source(name="sessions", path="raw/sessions"),
            Source(name="merchants", path="raw/merchants"),
            Source(name="fraud_labels", path="labels/fraud"),
            Source(name="ltv_labels", path="labels/ltv"),
            Source(name="promo_labels", path="labels/promo"),
        ],
        feature_views=[profile, spend, engagement, merchant_risk],
        offline_store={"kubernetes": FileOfflineStore(volume_size="200Gi", storage_class="efs-sc")},
    ),
    models=[fraud, ltv, promo],
    notifications=[
        Slack(name="ml-alerts", channel="#retail-ml", webhook_url_secret="slackWebhookUrl"),
        PagerDuty(name="fraud-pager", routing_key_secret="pagerdutyFraudKey"),
        Webhook(name="marketing-webhook", url_secret="marketingWebhookUrl"),
    ],
    environments={
        "local": Environment(
            target=LocalTarget(base_port=18180),
            stage="dev",
            overrides={
                "models": {
                    "fraud": {"serving": {"replicas": 1, "autoscaling": None, "canary": None}, "training.data_validation.min_rows": 500},
                    "ltv": {"serving": {"replicas": 1, "autoscaling": None}},
                },
            },
        ),
        "prod": Environment(
            target=KubernetesTarget(namespace="retail-ml", storage_class="gp3", gateway="gateway-system/internal"),
            overrides={"models.ltv.registry.approval": "manual"},
        ),
    },
)
