"""Foundation: the namespace, the runtime service account, the spec, the team's code, the secrets and the shared volume."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import Cluster, child
from mlops_dsl.loading.loader import resolved_json


@dataclass(frozen=True)
class FoundationArgs:
    """Inputs of :class:`Foundation`."""

    cluster: Cluster
    secrets: Mapping[str, pulumi.Input[str]]
    """Secret values by key, from Pulumi config secrets (never plain text)."""


def _secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """Mark a value secret, whatever it came as (config secrets already are)."""
    return pulumi.Output.secret(value)  # type: ignore[arg-type]  # mypy cannot solve Output.secret's generic


class Foundation(pulumi.ComponentResource):
    """What everything else in the namespace stands on."""

    namespace: pulumi.Output[str]
    """The namespace that holds the platform."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Foundation", name, {}, opts)
        cluster = args.cluster
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": cluster.namespace, "labels": {**cluster.labels("namespace"), "mlops.dev/stage": cluster.spec.stage}},
            opts=child(self),
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-runtime-account",
            metadata=cluster.metadata(cluster.runtime_account, "runtime"),
            automount_service_account_token=False,
            opts=child(self, namespace),
        )
        k8s.core.v1.ConfigMap(
            f"{name}-spec",
            metadata=cluster.metadata(cluster.spec_config_map, "spec"),
            data={"platform.json": resolved_json(cluster.spec)},
            opts=child(self, namespace),
        )
        if cluster.code is not None and cluster.code_config_map is not None:
            # Immutable, and named after its content: new code is a new ConfigMap, and the new name
            # in every pod template rolls the pods onto it (a mutable one would change under them).
            k8s.core.v1.ConfigMap(
                f"{name}-code",
                metadata={
                    **cluster.metadata(cluster.code_config_map, "code"),
                    "annotations": {"mlops.dev/code-hash": cluster.code.hash},
                },
                immutable=True,
                data=cluster.code.data() or None,
                binary_data=cluster.code.binary_data() or None,
                opts=child(self, namespace),
            )
        k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=cluster.metadata(cluster.secret, "secrets"),
            type="Opaque",
            string_data={key: _secret(value) for key, value in args.secrets.items()},
            opts=child(self, namespace),
        )
        offline = cluster.spec.platform.feature_store.offline_store.kubernetes
        claim: dict[str, object] = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": offline.volume_size}}}
        storage_class = offline.storage_class or cluster.target.storage_class
        if storage_class:
            claim["storageClassName"] = storage_class
        # Shared by the feature store, training runs and captured traffic; several
        # pods on several nodes mount it, hence ReadWriteMany.
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data", metadata=cluster.metadata(cluster.data_claim, "data"), spec=claim, opts=child(self, namespace)
        )
        self.namespace = namespace.metadata["name"]
        self.register_outputs({"namespace": self.namespace})
