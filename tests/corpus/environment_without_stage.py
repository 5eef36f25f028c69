# expect-path: environments.qa.stage
# expect: environment 'qa' is not named after a stage, so declare one
from _base import build_platform

from mlops_dsl import Environment, KubernetesTarget

platform = build_platform(environments={"qa": Environment(target=KubernetesTarget())})
