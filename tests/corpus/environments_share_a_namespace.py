# expect-path: environments.staging.target.namespace
# expect: environments 'dev' and 'staging' both deploy platform 'churn' to namespace 'ml' of the current kubeconfig context
from _base import build_platform

from mlops_dsl import Environment, KubernetesTarget

# Every object name is <platform>-<role>: two environments in one namespace would be one set of objects.
platform = build_platform(
    environments={
        "dev": Environment(target=KubernetesTarget(namespace="ml", gateway="gateway-system/internal")),
        "staging": Environment(target=KubernetesTarget(namespace="ml", gateway="gateway-system/internal")),
    }
)
