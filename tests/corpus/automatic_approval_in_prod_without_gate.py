# expect-path: models.churn.registry.approval
# expect: [prod]: models.churn.registry.approval: automatic approval in prod needs an evaluation gate
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(gate=None))])
