# expect-path: models.churn.monitors.churn-quality.threshold
# expect: got -0.2; allowed: accuracy from 0 to 1
from _base import build_platform, model, monitors

from mlops_dsl import ModelQuality

quality = ModelQuality(name="churn-quality", metric="accuracy", threshold=-0.2)
platform = build_platform(models=[model(monitors=[monitors()[0], quality, *monitors()[2:]])])
