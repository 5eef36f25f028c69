# expect-path: feature_store.feature_views.customer_activity.features[1].name
# expect: got 'sessions'; allowed: unique feature names
from _base import build_platform, feature_store, view

from mlops_dsl import Feature

features = [Feature(name="sessions", dtype="int64"), Feature(name="sessions", dtype="float64"), Feature(name="tenure_months", dtype="int64")]
platform = build_platform(feature_store=feature_store(feature_views=[view(features=features)]))
