# expect-path: models.churn.serving.replicas
# expect: got '3'; allowed: an integer, 1 to 1000
from _base import build_platform, model, serving

platform = build_platform(models=[model(serving=serving(replicas="3"))])
