# expect-path: feature_store.feature_views.customer_activity.features[1].name
# expect: 'customer_id' is the join key of entity 'customer'; got 'customer_id'
from _base import build_platform, feature_store, view

from mlops_dsl import Feature

features = [Feature(name="tenure_months", dtype="int64"), Feature(name="customer_id", dtype="int64"), Feature(name="sessions", dtype="int64")]
platform = build_platform(feature_store=feature_store(feature_views=[view(features=features)]))
