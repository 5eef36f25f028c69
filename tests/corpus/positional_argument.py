# expect: positional_argument.py:6: does not import: TypeError: Canary() takes keyword arguments only, such as Canary(percent=...)
from _base import build_platform, model, serving

from mlops_dsl import Canary

platform = build_platform(models=[model(serving=serving(canary=Canary(10)))])
