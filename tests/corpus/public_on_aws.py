# expect-path: models.churn.serving.public
# expect: [prod]: models.churn.serving.public: got True; allowed: false (a SageMaker endpoint is reached only by signed AWS API calls
from _base import build_platform, model

from mlops_dsl import Serving

platform = build_platform(models=[model(serving=Serving(public=True))])
