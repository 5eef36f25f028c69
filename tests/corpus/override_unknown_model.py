# expect-path: environments.prod.overrides['models.chrun.serving.replicas']
# expect: models has no item named 'chrun'; got 'chrun'; allowed: one of 'churn'
from _base import build_platform

from mlops_dsl import AwsTarget, Environment, KubernetesTarget

platform = build_platform(
    environments={
        "dev": Environment(target=KubernetesTarget(gateway="gateway-system/internal")),
        "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"models.chrun.serving.replicas": 3, "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"}),
    }
)
