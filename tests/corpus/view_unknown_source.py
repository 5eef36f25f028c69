# expect-path: feature_store.feature_views.customer_activity.source
# expect: no source with this name; got 'clickstream'
from _base import build_platform, feature_store, view

platform = build_platform(feature_store=feature_store(feature_views=[view(source="clickstream")]))
