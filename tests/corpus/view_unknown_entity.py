# expect-path: feature_store.feature_views.customer_activity.entities[0]
# expect: no entity with this name; got 'user'
from _base import build_platform, feature_store, view

platform = build_platform(feature_store=feature_store(feature_views=[view(entities=["user"])]))
