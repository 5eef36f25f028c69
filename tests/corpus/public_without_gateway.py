# expect-path: environments.dev.target.gateway
# expect: environments.dev.target.gateway: model 'churn' is public; got None; allowed: a Gateway API gateway
from _base import build_platform, model

from mlops_dsl import Environment, KubernetesTarget, Serving

platform = build_platform(environments={"dev": Environment(target=KubernetesTarget())}, models=[model(serving=Serving(public=True))])
