# expect-path: models.churn.monitors.churn-drift.threshold
# expect: got 2.0; allowed: a KS statistic between 0 and 1
from _base import build_platform, model, monitors

from mlops_dsl import DataDrift

drift = DataDrift(name="churn-drift", features=["customer_activity:sessions"], method="ks", threshold=2.0)
platform = build_platform(models=[model(monitors=[drift, *monitors()[1:]])])
