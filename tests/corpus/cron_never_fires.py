# expect-path: models.churn.training.schedule
# expect: it never fires: none of its months has that day; got '0 0 31 2 *'; allowed: a schedule that fires
from _base import build_platform, model, training

# February 31st: accepted by croniter's syntax check, it would break the trigger's every round.
platform = build_platform(models=[model(training=training(schedule="0 0 31 2 *"))])
