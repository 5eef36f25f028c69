"""Serving one model on Kubernetes: the model server Deployment, Service, autoscaler, disruption budget,
ServiceMonitor, an optional canary Deployment with a weighted HTTPRoute, and batch scoring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import SERVER_PORT, TMP_VOLUME, Cluster, canary_replicas, child, container, http_probe
from mlops_dsl.spec.platform import Model


@dataclass(frozen=True)
class ModelServingArgs:
    """Inputs of :class:`ModelServing`."""

    cluster: Cluster
    model: Model


class ModelServing(pulumi.ComponentResource):
    """Everything that serves one model."""

    service: pulumi.Output[str]
    """The stable Service's name (its in-cluster endpoint is http://<service>:8080)."""

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:ModelServing", name, {}, opts)
        cluster, model = args.cluster, args.model
        serving = model.serving
        spec_volume, spec_mount = cluster.spec_volume()
        code_volumes, code_mounts = cluster.code_volume()
        data_volume, data_mount = cluster.data_volume()
        model_label = {"mlops.dev/model": model.name}
        self.service = pulumi.Output.from_input("")

        def server_pods(role: str) -> dict[str, Any]:
            server = container(
                "model-server",
                cluster.image,
                ["serve", "--model", model.name, "--role", role, "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
                serving.resources,
                env=cluster.runtime_env(),
                mounts=[spec_mount, *code_mounts, data_mount],
                ports=[{"name": "http", "containerPort": SERVER_PORT}],
                readinessProbe=http_probe(f"/v2/models/{model.name}/ready", SERVER_PORT, period=5),
                livenessProbe=http_probe("/v2/health/live", SERVER_PORT, period=15, delay=20),
            )
            labels = cluster.labels("model-server", **model_label, **{"mlops.dev/role": role})
            return {
                "metadata": {"labels": labels},
                "spec": cluster.pod_spec([server], [spec_volume, *code_volumes, data_volume, TMP_VOLUME]),
            }

        if serving.online:
            stable_name = cluster.names.server(model.name)
            stable_selector = cluster.selector("model-server", **model_label, **{"mlops.dev/role": "stable"})
            deployment = k8s.apps.v1.Deployment(
                f"{name}-deployment",
                metadata=cluster.metadata(stable_name, "model-server", **model_label),
                spec={
                    "replicas": serving.replicas,
                    "selector": {"matchLabels": stable_selector},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                    "template": server_pods("stable"),
                },
                opts=child(self),
            )
            service = k8s.core.v1.Service(
                f"{name}-service",
                metadata=cluster.metadata(stable_name, "model-server", **model_label),
                spec={
                    "type": "ClusterIP",
                    "selector": stable_selector,
                    "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http"}],
                },
                opts=child(self),
            )
            self.service = service.metadata["name"]
            scaling = serving.autoscaling
            if scaling is not None:
                if scaling.metric == "cpu":
                    metric: dict[str, Any] = {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": int(scaling.target)}},
                    }
                else:  # served to the HPA by prometheus-adapter from mlops_requests_total
                    metric = {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "mlops_requests_per_second"},
                            "target": {"type": "AverageValue", "averageValue": f"{scaling.target:g}"},
                        },
                    }
                k8s.autoscaling.v2.HorizontalPodAutoscaler(
                    f"{name}-autoscaler",
                    metadata=cluster.metadata(stable_name, "model-server", **model_label),
                    spec={
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": stable_name},
                        "minReplicas": scaling.min_replicas,
                        "maxReplicas": scaling.max_replicas,
                        "metrics": [metric],
                    },
                    opts=child(self, deployment),
                )
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-disruption-budget",
                metadata=cluster.metadata(stable_name, "model-server", **model_label),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": stable_selector}},
                opts=child(self),
            )
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={
                    **cluster.metadata(stable_name, "model-server", **model_label),
                    "labels": {**cluster.labels("model-server", **model_label), **cluster.target.prometheus_labels},
                },
                spec={
                    "selector": {"matchLabels": cluster.selector("model-server", **model_label)},
                    "namespaceSelector": {"matchNames": [cluster.namespace]},
                    "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
                },
                opts=child(self),
            )
            canary_name = self._canary(name, cluster, model, server_pods("canary")) if serving.canary is not None else None
            if canary_name is not None or serving.public:
                self._route(name, cluster, model, stable_name, canary_name)

        if serving.batch is not None:
            batch = serving.batch
            scorer = container(
                "batch",
                cluster.image,
                ["batch", "--model", model.name, "--input", batch.input, "--output", batch.output],
                batch.resources,
                env=cluster.runtime_env(),
                mounts=[spec_mount, *code_mounts, data_mount],
            )
            k8s.batch.v1.CronJob(
                f"{name}-batch",
                metadata=cluster.metadata(cluster.names.batch(model.name), "batch-inference", **model_label),
                spec={
                    "schedule": batch.schedule,
                    "concurrencyPolicy": "Forbid",
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 1,
                            "parallelism": 1,
                            "template": {
                                "metadata": {"labels": cluster.labels("batch-inference", **model_label)},
                                "spec": cluster.pod_spec(
                                    [scorer], [spec_volume, *code_volumes, data_volume, TMP_VOLUME], restartPolicy="Never"
                                ),
                            },
                        }
                    },
                },
                opts=child(self),
            )
        self.register_outputs({"service": self.service})

    def _canary(self, name: str, cluster: Cluster, model: Model, pods: dict[str, Any]) -> str:
        """A second Deployment and Service for the canary; returns the Service's name."""
        canary = model.serving.canary
        if canary is None:
            raise ValueError(f"model {model.name}: no serving.canary")
        canary_name = cluster.names.canary(model.name)
        model_label = {"mlops.dev/model": model.name}
        selector = cluster.selector("model-server", **model_label, **{"mlops.dev/role": "canary"})
        replicas = canary_replicas(model.serving.replicas, canary.percent)
        k8s.apps.v1.Deployment(
            f"{name}-canary-deployment",
            metadata=cluster.metadata(canary_name, "model-server", **model_label),
            spec={"replicas": replicas, "selector": {"matchLabels": selector}, "template": pods},
            opts=child(self),
        )
        k8s.core.v1.Service(
            f"{name}-canary-service",
            metadata=cluster.metadata(canary_name, "model-server", **model_label),
            spec={"type": "ClusterIP", "selector": selector, "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http"}]},
            opts=child(self),
        )
        return canary_name

    def _route(self, name: str, cluster: Cluster, model: Model, stable_name: str, canary_name: str | None) -> None:
        """The HTTPRoute on the target's gateway: the canary's declared share, and the model's public path."""
        if cluster.target.gateway is None:  # the spec's rules require one for a canary or a public model
            raise ValueError(f"model {model.name}: a canary or a public model on Kubernetes needs target.gateway")
        backends: list[dict[str, Any]] = [{"name": stable_name, "port": SERVER_PORT, "weight": 100}]
        if canary_name is not None and model.serving.canary is not None:
            percent = model.serving.canary.percent
            backends = [{**backends[0], "weight": 100 - percent}, {"name": canary_name, "port": SERVER_PORT, "weight": percent}]
        model_label = {"mlops.dev/model": model.name}
        gateway_namespace, gateway_name = cluster.target.gateway.split("/")
        k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=cluster.metadata(cluster.names.route(model.name), "model-server", **model_label),
            spec={
                "parentRefs": [{"name": gateway_name, "namespace": gateway_namespace}],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": f"/v2/models/{model.name}"}}],
                        "backendRefs": backends,
                    }
                ],
            },
            opts=child(self),
        )
