# expect-path: models.churn.training.gate.threshold
# expect: roc_auc is a fraction of 1, not a percent; got 75.0; allowed: roc_auc from 0 to 1
from _base import build_platform, model, training

from mlops_dsl import Gate

platform = build_platform(models=[model(training=training(gate=Gate(metric="roc_auc", threshold=75)))])
