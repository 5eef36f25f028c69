# expect-path: environments.dev.target.gateway
# expect: got 'internal'; allowed: a Gateway API gateway as 'namespace/name'
from _base import build_platform

from mlops_dsl import AwsTarget, Environment, KubernetesTarget

platform = build_platform(
    environments={"dev": Environment(target=KubernetesTarget(gateway="internal")), "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"})}
)
