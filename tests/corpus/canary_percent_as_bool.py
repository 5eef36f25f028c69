# expect-path: models.churn.serving.canary.percent
# expect: got True; allowed: an integer, 1 to 99
from _base import build_platform, model, serving

from mlops_dsl import Canary

platform = build_platform(models=[model(serving=serving(canary=Canary(percent=True, rollback_on=["churn-latency"])))])
