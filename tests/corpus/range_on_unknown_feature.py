# expect-path: models.churn.training.data_validation.ranges.age
# expect: not an input of this model; got 'age'
from _base import build_platform, model, training

from mlops_dsl import DataValidation, Range

platform = build_platform(models=[model(training=training(data_validation=DataValidation(ranges={"age": Range(min=18)})))])
