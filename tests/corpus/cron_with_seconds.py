# expect-path: models.churn.serving.batch.schedule
# expect: got '0 0 2 * * *'; allowed: a 5-field cron expression
from _base import build_platform, model, serving

from mlops_dsl import BatchInference

batch = BatchInference(schedule="0 0 2 * * *", input="batch/in", output="batch/out")
platform = build_platform(models=[model(serving=serving(batch=batch))])
