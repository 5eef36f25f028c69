# expect-path: models.churn.training.resources.instance_type
# expect: [prod]: models.churn.training.resources.instance_type: got 'm5.xlarge'; allowed: a SageMaker instance type
from _base import build_platform, model, training

from mlops_dsl import Resources

platform = build_platform(models=[model(training=training(resources=Resources(cpu=4, memory="8Gi", instance_type="m5.xlarge")))])
