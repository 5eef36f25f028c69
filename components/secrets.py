"""The stack's config secrets, as both targets read them: required, and never empty.

An empty secret is a mistake the stack file cannot show (its value is encrypted):
an empty webhook token would let any caller start retraining, an empty database
password would leave the registry open. So the program refuses it, naming the key.
"""

from __future__ import annotations

import pulumi


def required_secret(name: str, config: pulumi.Config | None = None) -> pulumi.Output[str]:
    """The config secret ``name``; the deployment stops with one line if it is missing or empty."""

    def not_empty(value: str) -> str:
        if not value.strip():
            raise pulumi.RunError(f"config secret {name!r} is empty; allowed: a value, set with: pulumi config set --secret {name} <value>")
        return value

    return (config or pulumi.Config()).require_secret(name).apply(not_empty)
