# expect-path: models[0].name
# expect: got 'churn\n'; allowed: lowercase letters, digits and '-'
from _base import build_platform, model

# `$` also matches before a final newline; the name would reach every manifest with it.
platform = build_platform(models=[model(name="churn\n")])
