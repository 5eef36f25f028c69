# expect-path: models.churn.training.hyperparameters.learning_rate
# expect: got nan; allowed: a valid integer, finite number, string or boolean
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(hyperparameters={"learning_rate": float("nan")}))])
