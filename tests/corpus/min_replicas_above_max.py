# expect-path: models.churn.serving.autoscaling.min_replicas
# expect: got 6; allowed: at most max_replicas (3)
from _base import build_platform, model, serving

from mlops_dsl import Autoscaling

platform = build_platform(models=[model(serving=serving(replicas=6, autoscaling=Autoscaling(min_replicas=6, max_replicas=3)))])
