# expect-path: feature_store.feature_views.customer_activity.features[2].name
# expect: 'event_timestamp' is the event timestamp of source 'activity'; got 'event_timestamp'
from _base import build_platform, feature_store, view

from mlops_dsl import Feature

features = [
    Feature(name="tenure_months", dtype="int64"),
    Feature(name="sessions", dtype="int64"),
    Feature(name="event_timestamp", dtype="unix_timestamp"),
]
platform = build_platform(feature_store=feature_store(feature_views=[view(features=features)]))
