# expect-path: models.churn.serving.replicas
# expect: got 10; allowed: 2 to 4 (the autoscaling bounds)
from _base import build_platform, model, serving

platform = build_platform(models=[model(serving=serving(replicas=10))])
