# expect-path: models.churn.monitors.churn-errors.notify[0]
# expect: no channel with this name; got 'oncall'; allowed: a declared notification channel: one of 'team'
from _base import build_platform, model, monitors

from mlops_dsl import ErrorRate

platform = build_platform(models=[model(monitors=[*monitors()[:3], ErrorRate(name="churn-errors", threshold=0.01, notify=["oncall"])])])
