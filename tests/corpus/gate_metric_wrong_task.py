# expect-path: models.churn.training.gate.metric
# expect: got 'rmse'; allowed: a classification metric
from _base import build_platform, model, training

from mlops_dsl import Gate

platform = build_platform(models=[model(training=training(gate=Gate(metric="rmse", threshold=10)))])
