# expect-path: models.churn.training.data_validation.min_rows
# expect: got 500.0; allowed: an integer, 1 to 1000000000000
from _base import build_platform, model, training

from mlops_dsl import DataValidation

platform = build_platform(models=[model(training=training(data_validation=DataValidation(min_rows=500.0)))])
