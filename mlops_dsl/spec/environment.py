"""Environments: where the platform deploys (its target) and how it differs there.

The same spec deploys to every environment. An environment picks a target and
may override any field of the spec by its path, for example
``{"models.churn.serving.replicas": 3}``; a stack's config can add more
overrides. The merged result is what gets validated and deployed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictInt, WithJsonSchema

from mlops_dsl.spec.base import KubernetesName, Name, SpecModel, matching, spec_error

Stage = Literal["dev", "staging", "prod"]
STAGES: tuple[str, ...] = ("dev", "staging", "prod")


_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")
HOST_RULE = "a host name or IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::1"


Host = Annotated[
    str,
    AfterValidator(matching(_HOST, HOST_RULE, max_length=253)),
    WithJsonSchema({"type": "string", "pattern": _HOST.pattern, "description": HOST_RULE}),
]

# Kubernetes label keys ([prefix/]name) and values, as the API server checks them.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")
LABEL_KEY_RULE = "a Kubernetes label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'"
LABEL_VALUE_RULE = "a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"


def _check_label_key(value: str) -> str:
    prefix, _, _ = value.rpartition("/")
    if len(prefix) > 253 or not _LABEL_KEY.fullmatch(value):
        raise spec_error(LABEL_KEY_RULE)
    return value


LabelKey = Annotated[str, AfterValidator(_check_label_key), WithJsonSchema({"type": "string", "description": LABEL_KEY_RULE})]
LabelValue = Annotated[
    str, AfterValidator(matching(_LABEL_VALUE, LABEL_VALUE_RULE)), WithJsonSchema({"type": "string", "description": LABEL_VALUE_RULE})
]


class LocalTarget(SpecModel):
    """One machine, no cloud: every service runs as a process on ``host``."""

    kind: Literal["local"] = "local"
    state_dir: str = ".mlops"
    host: Host = "127.0.0.1"
    base_port: StrictInt = Field(default=18080, ge=1024, le=65000)


_GATEWAY = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GATEWAY_RULE = "a Gateway API gateway as 'namespace/name', such as 'gateway-system/internal'"


GatewayRef = Annotated[
    str,
    AfterValidator(matching(_GATEWAY, GATEWAY_RULE)),
    WithJsonSchema({"type": "string", "pattern": _GATEWAY.pattern, "description": GATEWAY_RULE}),
]


class KubernetesTarget(SpecModel):
    """A Kubernetes cluster with the Prometheus Operator installed.

    ``namespace`` defaults to ``<platform>-<environment>``. ``prometheus_labels``
    are the labels the cluster's Prometheus selects rules and monitors by
    (kube-prometheus-stack's default is ``release: <release name>``), and
    ``prometheus_url`` is where the drift monitor reads it. ``gateway`` is the
    Gateway API gateway whose HTTPRoutes split traffic between a model's stable
    and canary Deployments (needed when a model declares a canary).
    """

    kind: Literal["kubernetes"] = "kubernetes"
    namespace: Name | None = None
    context: str | None = None
    storage_class: KubernetesName | None = None
    prometheus_labels: dict[LabelKey, LabelValue] = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    gateway: GatewayRef | None = None
    image_pull_secret: Name | None = None


_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


REGION_RULE = "an AWS region code such as eu-west-1 or us-east-2"
ACCOUNT_RULE = "a 12-digit AWS account id, as a string"


AwsRegion = Annotated[
    str,
    AfterValidator(matching(_REGION, REGION_RULE)),
    WithJsonSchema({"type": "string", "pattern": _REGION.pattern, "description": REGION_RULE}),
]
AwsAccountId = Annotated[
    str,
    AfterValidator(matching(_ACCOUNT, ACCOUNT_RULE)),
    WithJsonSchema({"type": "string", "pattern": _ACCOUNT.pattern, "description": ACCOUNT_RULE}),
]


class AwsVpc(SpecModel):
    """Private networking for SageMaker jobs and endpoints."""

    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=1)
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(min_length=1)


class AwsTarget(SpecModel):
    """An AWS account and region, realized with SageMaker, S3, CloudWatch and EventBridge."""

    kind: Literal["aws"] = "aws"
    region: AwsRegion
    account_id: AwsAccountId | None = None
    vpc: AwsVpc | None = None


Target = Annotated[LocalTarget | KubernetesTarget | AwsTarget, Field(discriminator="kind")]
"""Where an environment deploys; the ``kind`` field tells which."""


class Environment(SpecModel):
    """One environment: its target, its stage and its overrides of the base spec.

    ``stage`` may be left out for environments named ``dev``, ``staging`` or
    ``prod``; rules such as "prod approval is manual or gated" key on it.
    """

    target: Target
    stage: Stage | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)


__all__ = ["STAGES", "AwsTarget", "AwsVpc", "Environment", "KubernetesTarget", "LocalTarget", "Stage", "Target"]
