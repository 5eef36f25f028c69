# expect-path: models.churn.serving.canary.bake_time
# expect: got '0m'; allowed: a duration longer than zero
from _base import build_platform, model, serving

from mlops_dsl import Canary

platform = build_platform(models=[model(serving=serving(canary=Canary(percent=5, bake_time="0m", rollback_on=["churn-errors"])))])
