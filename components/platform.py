"""Pick the platform component for the environment's target."""

from __future__ import annotations

from typing import Protocol

import pulumi

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.spec.environment import AwsTarget, KubernetesTarget, LocalTarget


class PlatformComponent(Protocol):
    """What every target's platform component offers the program."""

    endpoints: pulumi.Output[dict[str, str]]


def build_platform(spec: ResolvedSpec, opts: pulumi.ResourceOptions | None = None) -> PlatformComponent:
    """Build the one platform component that deploys ``spec`` to its target."""
    # Imported here so a kubernetes stack never loads the AWS provider, and back.
    match spec.target:
        case KubernetesTarget():
            from components.kubernetes import KubernetesPlatform, KubernetesPlatformArgs

            return KubernetesPlatform(spec.platform.name, KubernetesPlatformArgs(spec), opts)
        case AwsTarget():
            from components.aws import AwsPlatform, AwsPlatformArgs

            return AwsPlatform(spec.platform.name, AwsPlatformArgs(spec), opts)
        case LocalTarget():
            raise pulumi.RunError(
                f"environment {spec.environment!r} has the local target, which runs with `mlops up --env {spec.environment}`; "
                "Pulumi stacks deploy kubernetes and aws environments"
            )
    raise pulumi.RunError(f"no Pulumi component for target {spec.target.kind!r}")


def secret_config_names(spec: ResolvedSpec) -> list[str]:
    """The Pulumi config secrets the program reads for ``spec``: what ``pulumi config set --secret`` must hold."""
    match spec.target:
        case KubernetesTarget():
            from components.kubernetes.platform import secret_config_names as kubernetes_secrets

            return kubernetes_secrets(spec)
        case AwsTarget():
            from components.aws.platform import secret_config_names as aws_secrets

            return aws_secrets(spec)
    return []
