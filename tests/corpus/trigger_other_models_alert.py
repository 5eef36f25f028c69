# expect-path: models.upsell.retraining.triggers[0].alert
# expect: this is a monitor of model 'churn'
from _base import build_platform, model

from mlops_dsl import Label, Latency, OnAlert, Retraining, Serving

upsell = model(
    name="upsell",
    label=Label(source="labels", column="upgraded"),
    monitors=[Latency(name="upsell-latency", threshold="300ms")],
    serving=Serving(),
    retraining=Retraining(triggers=[OnAlert(alert="churn-drift")]),
)
platform = build_platform(models=[model(), upsell])
