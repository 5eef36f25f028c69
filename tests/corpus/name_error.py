# expect: name_error.py:6: does not import: NameError: name 'Modell' is not defined
from _base import build_platform

from mlops_dsl import Label

churn = Modell(name="churn", label=Label(source="labels", column="churned"))
platform = build_platform(models=[churn])
