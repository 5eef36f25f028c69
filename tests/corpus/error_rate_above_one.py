# expect-path: models.churn.monitors.churn-errors.threshold
# expect: got 5; allowed: more than 0.0 and less than 1.0
from _base import build_platform, model, monitors

from mlops_dsl import ErrorRate

platform = build_platform(models=[model(monitors=[*monitors()[:3], ErrorRate(name="churn-errors", threshold=5)])])
