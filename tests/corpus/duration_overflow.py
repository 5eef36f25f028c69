# expect-path: models.churn.retraining.cooldown
# expect: too long; got '99999999999999d'; allowed: a duration of at most 106751d
from _base import build_platform, model

from mlops_dsl import OnAlert, Retraining

platform = build_platform(models=[model(retraining=Retraining(triggers=[OnAlert(alert="churn-drift")], cooldown="99999999999999d"))])
