# expect-path: models.churn.serving.online
# expect: the model would not be served at all
from _base import build_platform, model

from mlops_dsl import Serving

platform = build_platform(models=[model(serving=Serving(online=False))])
