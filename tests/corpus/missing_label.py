# expect-path: models.churn.label
# expect: missing; allowed: a value (this field is required)
from _base import build_platform, model, monitors, training

from mlops_dsl import Model

churn = Model(name="churn", task="classification", features=["customer_activity:sessions"], training=training(), monitors=monitors())
platform = build_platform(models=[churn])
