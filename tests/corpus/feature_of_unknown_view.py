# expect-path: models.churn.features[1]
# expect: no feature view named 'billing'
from _base import build_platform, model

platform = build_platform(models=[model(features=["customer_activity:sessions", "billing:monthly_charges"])])
