# expect-path: models.churn.monitors.churn-drift.features[0]
# expect: no feature view defines this feature; got 'customer_activity:logins'
from _base import build_platform, model, monitors

from mlops_dsl import DataDrift

platform = build_platform(
    models=[model(monitors=[DataDrift(name="churn-drift", features=["customer_activity:logins"]), *monitors()[1:]])]
)
