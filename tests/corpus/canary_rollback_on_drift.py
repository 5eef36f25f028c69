# expect-path: models.churn.serving.canary.rollback_on[0]
# expect: got 'churn-drift'; allowed: a latency, error-rate or quality monitor
from _base import build_platform, model, serving

from mlops_dsl import Canary

platform = build_platform(models=[model(serving=serving(canary=Canary(percent=10, rollback_on=["churn-drift"])))])
