# expect-path: models.churn.training.hyperparameters.max_iter
# expect: got [100, 200]; allowed: a valid integer, finite number, string or boolean
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(hyperparameters={"max_iter": [100, 200]}))])
