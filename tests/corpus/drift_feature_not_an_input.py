# expect-path: models.churn.monitors.churn-drift.features[0]
# expect: a feature of the store, but not an input of this model; got 'spend'
from _base import build_platform, model, monitors

from mlops_dsl import DataDrift

platform = build_platform(models=[model(monitors=[DataDrift(name="churn-drift", features=["spend"]), *monitors()[1:]])])
