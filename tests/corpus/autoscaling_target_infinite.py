# expect-path: models.churn.serving.autoscaling.target
# expect: got inf; allowed: a finite number (not NaN or infinity), more than 0 and at most 100000
from _base import build_platform, model, serving

platform = build_platform(
    models=[
        model(serving=serving(autoscaling={"min_replicas": 2, "max_replicas": 4, "metric": "requests_per_second", "target": float("inf")}))
    ]
)
