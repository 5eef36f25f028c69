# expect-path: models.Churn_Model.name
# expect: got 'Churn_Model'; allowed: lowercase letters, digits and '-'
from _base import build_platform, model

platform = build_platform(models=[model(name="Churn_Model")])
