# expect-path: models.churn.serving.replica
# expect: unknown field; got 'replica'; allowed: a field of Serving: online, replicas
from _base import build_platform, model

from mlops_dsl import Serving

platform = build_platform(models=[model(serving=Serving(replica=3))])
