# expect-path: models.churn.serving.canary.percent
# expect: got 0; allowed: 1 to 99
from _base import build_platform, model, serving

from mlops_dsl import Canary

platform = build_platform(models=[model(serving=serving(canary=Canary(percent=0, rollback_on=["churn-latency"])))])
