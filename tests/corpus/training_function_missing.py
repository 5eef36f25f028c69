# expect-path: models.churn.training.entrypoint
# expect: no module named 'churn_team_training' (tried the installed packages); got 'churn_team_training.fit'
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(entrypoint="churn_team_training.fit"))])
