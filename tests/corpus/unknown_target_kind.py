# expect-path: environments.prod.target
# expect: unknown kind; got 'gcp'; allowed: a kind of 'local', 'kubernetes', 'aws'
from _base import build_platform

from mlops_dsl import Environment

platform = build_platform(environments={"prod": Environment(target={"kind": "gcp", "project": "ml"})})
