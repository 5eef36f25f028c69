# expect-path: code
# expect: got 'team_src'; allowed: a folder relative to the spec file
from _base import build_platform

platform = build_platform(code="team_src")
