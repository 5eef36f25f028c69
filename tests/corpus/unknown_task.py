# expect-path: models.churn.task
# expect: got 'binary'; allowed: one of 'classification' or 'regression'
from _base import build_platform, model

platform = build_platform(models=[model(task="binary")])
