# expect-path: models.churn.training.resources.memory
# expect: Gi'; allowed: a memory quantity such as 512Mi, 4Gi or 1G
from _base import build_platform, model, training

from mlops_dsl import Resources

# A fullwidth digit is a digit to `\d`, not to Kubernetes.
platform = build_platform(models=[model(training=training(resources=Resources(memory="\uff14Gi")))])
