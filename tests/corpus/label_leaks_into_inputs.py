# expect-path: models.churn.label.column
# expect: the label would leak into the inputs; got 'sessions'
from _base import build_platform, model

from mlops_dsl import Label

platform = build_platform(models=[model(label=Label(source="labels", column="sessions"))])
