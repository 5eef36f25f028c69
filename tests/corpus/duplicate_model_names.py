# expect-path: models[1].name
# expect: declared more than once; got 'churn'; allowed: unique model names
from _base import build_platform, model

platform = build_platform(models=[model(), model()])
