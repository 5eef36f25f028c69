# expect-path: models
# expect: got []; allowed: at least 1 item
from _base import build_platform

platform = build_platform(models=[])
