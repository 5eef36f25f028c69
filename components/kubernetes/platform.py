"""The platform on Kubernetes: one component that composes every part of the spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import TRIGGER_PORT, Cluster
from components.kubernetes.feature_store import FeatureStore, FeatureStoreArgs
from components.kubernetes.foundation import Foundation, FoundationArgs
from components.kubernetes.monitoring import Monitoring, MonitoringArgs
from components.kubernetes.registry import ModelRegistry, ModelRegistryArgs
from components.kubernetes.retraining import RetrainingWebhook, RetrainingWebhookArgs
from components.kubernetes.serving import ModelServing, ModelServingArgs
from components.kubernetes.training import Training, TrainingArgs
from components.secrets import required_secret
from mlops_dsl.contracts.names import default_namespace
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.loading.stack import config_secret_names
from mlops_dsl.spec.environment import KubernetesTarget


@dataclass(frozen=True)
class KubernetesPlatformArgs:
    """Inputs of :class:`KubernetesPlatform`."""

    spec: ResolvedSpec
    """The platform resolved for a kubernetes environment."""
    secrets: Mapping[str, pulumi.Input[str]] | None = None
    """Secret values by spec secret name; read from Pulumi config secrets when not given."""

    @property
    def target(self) -> KubernetesTarget:
        """The environment's Kubernetes settings."""
        if not isinstance(self.spec.target, KubernetesTarget):
            raise TypeError(f"KubernetesPlatform needs a kubernetes environment, got {self.spec.target.kind!r}")
        return self.spec.target

    @property
    def namespace(self) -> str:
        """The namespace the platform lives in: declared, or ``<platform>-<environment>``."""
        return self.target.namespace or default_namespace(self.spec.platform.name, self.spec.environment)


def secret_config_names(spec: ResolvedSpec) -> list[str]:
    """The Pulumi config secrets the platform reads: the spec's, and the registry database's password."""
    return sorted(config_secret_names(spec))


def config_secrets(spec: ResolvedSpec) -> Mapping[str, pulumi.Input[str]]:
    """Every secret the platform needs, from the stack's Pulumi config secrets."""
    config = pulumi.Config()
    return {name: required_secret(name, config) for name in secret_config_names(spec)}


class KubernetesPlatform(pulumi.ComponentResource):
    """Every Kubernetes resource of one platform environment."""

    namespace: pulumi.Output[str]
    """The namespace that holds the platform."""
    registry_url: pulumi.Output[str]
    """The MLflow registry inside the cluster."""
    webhook_url: pulumi.Output[str]
    """The retraining webhook Alertmanager calls."""
    endpoints: pulumi.Output[dict[str, str]]
    """In-cluster inference endpoints by model."""

    def __init__(self, name: str, args: KubernetesPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Platform", name, {}, opts)
        spec = args.spec
        secrets = args.secrets if args.secrets is not None else config_secrets(spec)
        token_key = spec.platform.retraining_webhook.secret
        cluster = Cluster(spec=spec, namespace=args.namespace)
        # An explicit provider, so the spec (not ambient kubeconfig state) says which cluster.
        provider = k8s.Provider(f"{name}-cluster", context=args.target.context, opts=pulumi.ResourceOptions(parent=self))
        inside = pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider})

        foundation = Foundation(f"{name}-foundation", FoundationArgs(cluster, secrets), inside)
        after = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[foundation]))
        FeatureStore(f"{name}-features", FeatureStoreArgs(cluster), after)
        registry = ModelRegistry(f"{name}-registry", ModelRegistryArgs(cluster), after)
        Training(f"{name}-training", TrainingArgs(cluster, token_key), after)
        webhook = RetrainingWebhook(f"{name}-retraining", RetrainingWebhookArgs(cluster, token_key, cluster.names.jobs()), after)
        webhook_url = f"http://{cluster.names.retraining()}.{cluster.namespace}.svc:{TRIGGER_PORT}/alerts"
        Monitoring(f"{name}-monitoring", MonitoringArgs(cluster, webhook_url, token_key), after)
        endpoints: dict[str, pulumi.Output[str]] = {}
        for model in spec.platform.models:
            ModelServing(f"{name}-{model.name}", ModelServingArgs(cluster, model), after)
            if model.serving.online:
                service = cluster.names.server(model.name)
                endpoints[model.name] = pulumi.Output.from_input(
                    f"http://{service}.{cluster.namespace}.svc:8080/v2/models/{model.name}/infer"
                )

        self.namespace = foundation.namespace
        self.registry_url = registry.url
        self.webhook_url = webhook.url
        self.endpoints = pulumi.Output.all(**endpoints) if endpoints else pulumi.Output.from_input({})
        self.register_outputs(
            {"namespace": self.namespace, "registry_url": self.registry_url, "webhook_url": self.webhook_url, "endpoints": self.endpoints}
        )
