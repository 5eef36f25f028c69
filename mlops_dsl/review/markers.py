"""The markers a plan document uses, shared by the plan and the policy rules that read it.

What only a deployment can know shows as :data:`KNOWN_AFTER_APPLY`; a secret as
:data:`SECRET`; a config secret's value is replaced by a stand-in
(:func:`stand_in`), so a rule can tell whether one leaked. A resource is named
by its address, ``type::name``.
"""

from __future__ import annotations

import base64

KNOWN_AFTER_APPLY = "(known after apply)"
SECRET = "[secret]"
UNKNOWN_TOKEN = "0unknown0"
"""What the mocks put where the cloud would choose a value; valid in bucket, role and Kubernetes names."""
UNKNOWN_ACCOUNT = "990000000099"
"""The account id when the spec declares none: twelve digits, as ARNs and ECR hosts need."""
STAND_IN_PREFIX = "plan-stand-in-"


def stand_in(secret_name: str) -> str:
    """The value a plan gives a config secret in place of the real one."""
    return f"{STAND_IN_PREFIX}{secret_name}"


def stand_in_forms(secret_name: str) -> list[str]:
    """A stand-in as it could leak: as is, and base64-encoded (as in a Kubernetes Secret's ``data``)."""
    value = stand_in(secret_name)
    return [value, base64.b64encode(value.encode()).decode()]


def address(type_token: str, name: str) -> str:
    """How a plan names a resource: ``type::name``."""
    return f"{type_token}::{name}"
