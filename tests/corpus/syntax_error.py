# expect: syntax_error.py:5: does not import: SyntaxError: invalid syntax. Perhaps you forgot a comma?
from _base import build_platform

platform = build_platform(
    name="churn"
    description="missing comma above",
)
