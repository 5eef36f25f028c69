# expect-path: feature_store.feature_views[1].name
# expect: declared more than once; got 'customer_activity'
from _base import build_platform, feature_store, view

platform = build_platform(feature_store=feature_store(feature_views=[view(), view()]))
