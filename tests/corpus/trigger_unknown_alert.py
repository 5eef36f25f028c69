# expect-path: models.churn.retraining.triggers[1].alert
# expect: no monitor with this name; got 'churn-qualty'
from _base import build_platform, model

from mlops_dsl import OnAlert, Retraining

platform = build_platform(
    models=[model(retraining=Retraining(triggers=[OnAlert(alert="churn-drift"), OnAlert(alert="churn-qualty")]))]
)
