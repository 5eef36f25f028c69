"""The platform on Kubernetes: the environment's namespace and everything inside it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlops_dsl.loader import ResolvedSpec
from mlops_dsl.spec.environment import KubernetesTarget


@dataclass(frozen=True)
class KubernetesPlatformArgs:
    """Inputs of :class:`KubernetesPlatform`."""

    spec: ResolvedSpec
    """The platform resolved for a kubernetes environment."""

    @property
    def target(self) -> KubernetesTarget:
        """The environment's Kubernetes settings."""
        if not isinstance(self.spec.target, KubernetesTarget):
            raise TypeError(f"KubernetesPlatform needs a kubernetes environment, got {self.spec.target.kind!r}")
        return self.spec.target

    @property
    def namespace(self) -> str:
        """The namespace the platform lives in: declared, or ``<platform>-<environment>``."""
        return self.target.namespace or f"{self.spec.platform.name}-{self.spec.environment}"


class KubernetesPlatform(pulumi.ComponentResource):
    """Every Kubernetes resource of one platform environment."""

    namespace: pulumi.Output[str]
    """The namespace that holds the platform."""

    def __init__(self, name: str, args: KubernetesPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Platform", name, {}, opts)
        labels = {
            "app.kubernetes.io/part-of": args.spec.platform.name,
            "app.kubernetes.io/managed-by": "mlops-dsl",
            "mlops.dev/environment": args.spec.environment,
            "mlops.dev/stage": args.spec.stage,
        }
        # An explicit provider, so the spec (not ambient kubeconfig state) says which cluster.
        provider = k8s.Provider(f"{name}-cluster", context=args.target.context, opts=pulumi.ResourceOptions(parent=self))
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=labels),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.namespace = namespace.metadata.name
        self.register_outputs({"namespace": self.namespace})
