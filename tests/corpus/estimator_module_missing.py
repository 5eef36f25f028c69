# expect-path: models.churn.training.estimator
# expect: no module named 'churn_team_models' (tried the installed packages); got
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(estimator="churn_team_models.boosting.TunedBooster"))])
