# expect-path: models.churn.features[0]
# expect: got 'tenure_months'; allowed: a feature reference 'view:feature'
from _base import build_platform, model

platform = build_platform(models=[model(features=["tenure_months", "customer_activity:sessions"])])
