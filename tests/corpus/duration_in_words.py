# expect-path: models.churn.retraining.cooldown
# expect: got '6 hours'; allowed: a duration such as 250ms, 30s, 5m, 1h30m, 2d or 1w
from _base import build_platform, model

from mlops_dsl import OnAlert, Retraining

platform = build_platform(models=[model(retraining=Retraining(triggers=[OnAlert(alert="churn-drift")], cooldown="6 hours"))])
