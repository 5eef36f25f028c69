# expect-path: environments.prod.target.region
# expect: got 'Frankfurt'; allowed: an AWS region code such as eu-west-1
from _base import build_platform

from mlops_dsl import AwsTarget, Environment

platform = build_platform(environments={"prod": Environment(target=AwsTarget(region="Frankfurt"))})
