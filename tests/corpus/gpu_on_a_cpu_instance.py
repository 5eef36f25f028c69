# expect-path: models.churn.training.resources.instance_type
# expect: training.resources.gpu asks for 1 GPU; got 'ml.m5.xlarge'
from _base import build_platform, model, training

from mlops_dsl import Resources

platform = build_platform(models=[model(training=training(resources=Resources(gpu=1, instance_type="ml.m5.xlarge")))])
