# expect-path: notifications.oncall.webhook_url_secret
# expect: got 'slack webhook'; allowed: a config key name
from _base import build_platform

from mlops_dsl import Slack

platform = build_platform(notifications=[Slack(name="oncall", channel="#ml", webhook_url_secret="slack webhook")])
