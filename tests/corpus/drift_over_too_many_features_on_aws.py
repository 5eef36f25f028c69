# expect-path: models.churn.monitors.churn-drift.features
# expect: 10 features make a CloudWatch alarm of 11 metric queries (one per feature and their maximum); PutMetricAlarm allows 10
from _base import build_platform, feature_store, model, monitors, view

from mlops_dsl import DataDrift, Feature

names = [f"f{i}" for i in range(10)]
store = feature_store(feature_views=[view(features=[Feature(name=n, dtype="float64") for n in names])])
inputs = [f"customer_activity:{n}" for n in names]
drift = DataDrift(name="churn-drift", features=inputs, method="ks", threshold=0.1)
platform = build_platform(feature_store=store, models=[model(features=inputs, monitors=[drift, *monitors()[1:]])])
