# expect-path: models.churn.training.schedule
# expect: got '0 25 * * 1'; allowed: a 5-field cron expression
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(schedule="0 25 * * 1"))])
