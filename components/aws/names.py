"""Physical names for AWS resources, trimmed to each service's limit with the shared helper (:mod:`components.names`)."""

from __future__ import annotations

from components.names import safe_name

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
