"""The shape the platform's own services share: one replica behind a Service, scraped by Prometheus.

The feature server, the drift monitor, the registry and the retraining trigger
each run as a single-replica Deployment with a ClusterIP Service in front of
the container port named ``http``; the monitor and the trigger also expose
``/metrics`` to the Prometheus Operator through a ServiceMonitor.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import Cluster, child


def single_replica_service(
    owner: pulumi.Resource,
    cluster: Cluster,
    *,
    resource_names: tuple[str, str],
    name: str,
    component: str,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    port: int,
    recreate: bool = False,
    account: pulumi.Resource | None = None,
) -> k8s.core.v1.Service:
    """A one-replica Deployment and its Service on ``port``; returns the Service.

    ``resource_names`` are the Pulumi names of the Deployment and the Service,
    ``name`` their Kubernetes name. ``recreate`` stops the old pod before the new
    one starts (for a single writer of a volume or of state). ``account`` is a
    ServiceAccount named ``name`` that the pod runs as, with its token mounted.
    """
    selector = cluster.selector(component)
    spec: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": selector}}
    if recreate:
        spec["strategy"] = {"type": "Recreate"}
    pods = cluster.pod_spec(containers, volumes, account=name if account is not None else None)
    spec["template"] = {"metadata": {"labels": cluster.labels(component)}, "spec": pods}
    deployment_opts = child(owner, account) if account is not None else child(owner)
    k8s.apps.v1.Deployment(resource_names[0], metadata=cluster.metadata(name, component), spec=spec, opts=deployment_opts)
    return k8s.core.v1.Service(
        resource_names[1],
        metadata=cluster.metadata(name, component),
        spec={"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": "http"}]},
        opts=child(owner),
    )


def service_monitor(owner: pulumi.Resource, cluster: Cluster, resource_name: str, name: str, component: str) -> None:
    """A ServiceMonitor that has the Prometheus Operator scrape the component's ``/metrics`` every 15 s."""
    k8s.apiextensions.CustomResource(
        resource_name,
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata={**cluster.metadata(name, component), "labels": {**cluster.labels(component), **cluster.target.prometheus_labels}},
        spec={
            "selector": {"matchLabels": cluster.selector(component)},
            "namespaceSelector": {"matchNames": [cluster.namespace]},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
        },
        opts=child(owner),
    )
