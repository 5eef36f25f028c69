# expect-path: models.upsell.monitors[0].name
# expect: model 'churn' already has a monitor with this name
from _base import build_platform, model

from mlops_dsl import Label, Latency, OnAlert, Retraining, Serving

upsell = model(
    name="upsell",
    label=Label(source="labels", column="upgraded"),
    monitors=[Latency(name="churn-latency", threshold="300ms")],
    serving=Serving(),
    retraining=Retraining(triggers=[OnAlert(alert="churn-latency")]),
)
platform = build_platform(models=[model(), upsell])
