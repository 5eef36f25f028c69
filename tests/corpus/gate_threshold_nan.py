# expect-path: models.churn.training.gate.threshold
# expect: got nan; allowed: a finite number (not NaN or infinity)
from _base import build_platform, model, training

from mlops_dsl import Gate

# A NaN threshold would refuse every run, and the pipeline definition would not be JSON.
platform = build_platform(models=[model(training=training(gate=Gate(metric="roc_auc", threshold=float("nan"))))])
