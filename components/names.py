"""Physical names every target derives from the spec, cut to the target's limits: the one naming helper.

A long model name must never break a deploy: a name over its limit keeps its
head and ends in a short hash of the whole, so it stays unique and stable.
The AWS target's names (with each service's limit) are :mod:`components.aws.names`;
the Kubernetes target's object names come from :func:`kubernetes_name`.
"""

from __future__ import annotations

import hashlib
import re

KUBERNETES_NAME_LIMIT = 63
"""A Kubernetes object name (DNS-1123 label), and the label values the components derive from names."""


def safe_name(*parts: str, limit: int) -> str:
    """Join ``parts`` with '-', keep only letters, digits and '-', and fit ``limit`` characters."""
    text = re.sub(r"[^A-Za-z0-9-]+", "-", "-".join(parts)).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9].rstrip('-')}-{digest}"


def kubernetes_name(*parts: str) -> str:
    """An object name: the parts joined with '-', cut to Kubernetes' 63 characters."""
    return "-".join(parts)[:KUBERNETES_NAME_LIMIT].rstrip("-")
