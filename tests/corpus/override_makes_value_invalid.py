# expect-path: models.churn.serving.canary.percent
# expect: [prod]: models.churn.serving.canary.percent: got 100; allowed: 1 to 99
from _base import build_platform

from mlops_dsl import AwsTarget, Environment, KubernetesTarget

platform = build_platform(
    environments={
        "dev": Environment(target=KubernetesTarget(gateway="gateway-system/internal")),
        "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"models.churn.serving.canary.percent": 100, "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops:1"}),
    }
)
