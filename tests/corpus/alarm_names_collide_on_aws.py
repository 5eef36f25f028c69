# expect-path: models.churn-v2.monitors.latency
# expect: model 'churn' monitor 'v2-latency' (models.churn.monitors.v2-latency) and model 'churn-v2' monitor 'latency' both become
from _base import build_platform, model, monitors

from mlops_dsl import Label, Latency, OnAlert, Retraining, Serving

# Monitor names are unique, but an alarm is <platform>-<environment>-<model>-<monitor>.
churn = model(monitors=[*monitors(), Latency(name="v2-latency", threshold="300ms")])
churn_v2 = model(
    name="churn-v2",
    label=Label(source="labels", column="churned"),
    monitors=[Latency(name="latency", threshold="300ms")],
    serving=Serving(),
    retraining=Retraining(triggers=[OnAlert(alert="latency")]),
)
platform = build_platform(models=[churn, churn_v2])
