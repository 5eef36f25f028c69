# expect-path: environments.dev.target.gateway
# expect: [dev]: environments.dev.target.gateway: model 'churn' declares a canary; got None; allowed: a Gateway API gateway
from _base import build_platform

from mlops_dsl import AwsTarget, Environment, KubernetesTarget

platform = build_platform(
    environments={"dev": Environment(target=KubernetesTarget()), "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"})}
)
