"""Physical names for AWS resources, trimmed to each service's limit.

A long model name must never break a deploy: a name over its limit keeps its
head and ends in a short hash of the whole, so it stays unique and stable.
"""

from __future__ import annotations

import hashlib
import re

LIMITS = {
    "endpoint": 63,
    "model_package_group": 63,
    "pipeline": 82,  # PipelineExecutionDisplayName limits follow from it
    "feature_group": 64,
    "function": 64,
    "role": 64,
    "rule": 64,
    "table": 255,
    "alarm": 255,
    "topic": 256,
    "job_definition": 63,
    "schedule": 63,
    "bucket_prefix": 37,  # S3 allows 63; Pulumi appends a random suffix to a bucket prefix
}


def safe_name(*parts: str, limit: int) -> str:
    """Join ``parts`` with '-', keep only letters, digits and '-', and fit ``limit`` characters."""
    text = re.sub(r"[^A-Za-z0-9-]+", "-", "-".join(parts)).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9].rstrip('-')}-{digest}"


class Names:
    """Every physical name of one platform environment, derived from ``<platform>-<environment>``."""

    def __init__(self, platform: str, environment: str) -> None:
        self.prefix = f"{platform}-{environment}"

    def endpoint(self, model: str) -> str:
        return safe_name(self.prefix, model, limit=LIMITS["endpoint"] - 12)  # room for "-v<version>" model names

    def model_package_group(self, model: str) -> str:
        return safe_name(self.prefix, model, limit=LIMITS["model_package_group"])

    def pipeline(self, model: str) -> str:
        return safe_name(self.prefix, model, limit=LIMITS["pipeline"] - 20)

    def feature_group(self, view: str) -> str:
        return safe_name(self.prefix, view.replace("_", "-"), limit=LIMITS["feature_group"])

    def function(self, role: str) -> str:
        return safe_name(self.prefix, role, limit=LIMITS["function"])

    def rule(self, *parts: str) -> str:
        return safe_name(self.prefix, *parts, limit=LIMITS["rule"])

    def alarm(self, model: str, monitor: str) -> str:
        return safe_name(self.prefix, model, monitor, limit=LIMITS["alarm"])

    def table(self, role: str) -> str:
        return safe_name(self.prefix, role, limit=LIMITS["table"])

    def topic(self) -> str:
        return safe_name(self.prefix, "alerts", limit=LIMITS["topic"])

    def monitoring(self, model: str, kind: str) -> str:
        return safe_name(self.prefix, model, kind, limit=LIMITS["job_definition"])

    def bucket_prefix(self, role: str) -> str:
        return safe_name(self.prefix, role, limit=LIMITS["bucket_prefix"]).lower() + "-"
