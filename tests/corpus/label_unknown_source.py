# expect-path: models.churn.label.source
# expect: no source with this name; got 'ground_truth'
from _base import build_platform, model

from mlops_dsl import Label

platform = build_platform(models=[model(label=Label(source="ground_truth", column="churned"))])
