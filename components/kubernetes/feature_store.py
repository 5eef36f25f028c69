"""The feature store on Kubernetes: Feast's feature server, a Redis online store, materialization."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import FEATURE_SERVER_PORT, TMP_VOLUME, Cluster, child, container, http_probe
from components.kubernetes.workloads import single_replica_service
from mlops_dsl.spec.training import Resources


@dataclass(frozen=True)
class FeatureStoreArgs:
    """Inputs of :class:`FeatureStore`."""

    cluster: Cluster


class FeatureStore(pulumi.ComponentResource):
    """Feast, generated from the spec's feature views (the runtime applies them from the spec)."""

    feature_server_url: pulumi.Output[str]
    """Where online features are served inside the cluster."""

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:FeatureStore", name, {}, opts)
        cluster = args.cluster
        store = cluster.spec.platform.feature_store
        redis_name = cluster.names.redis()
        redis_labels = cluster.selector("online-store")
        memory = store.online_store.kubernetes.memory
        persistence = store.online_store.kubernetes.persistence
        redis_container = {
            "name": "redis",
            "image": "redis:7.4-alpine",
            # An online store is a cache of the offline store: evict, never refuse writes.
            "args": ["--maxmemory-policy", "allkeys-lru", *(["--save", "60", "1000"] if persistence else ["--save", ""])],
            "ports": [{"name": "redis", "containerPort": 6379}],
            "resources": {"requests": {"cpu": "100m", "memory": memory}, "limits": {"memory": memory}},
            "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 10},
            "livenessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 20},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "redis-data", "mountPath": "/data"}],
        }
        statefulset_spec: dict[str, object] = {
            "serviceName": redis_name,
            "replicas": 1,
            "selector": {"matchLabels": redis_labels},
            "template": {
                "metadata": {"labels": cluster.labels("online-store")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 999,
                        "fsGroup": 999,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [redis_container],
                },
            },
        }
        if persistence:
            claim: dict[str, object] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
            if cluster.target.storage_class:
                claim["storageClassName"] = cluster.target.storage_class
            statefulset_spec["volumeClaimTemplates"] = [{"metadata": {"name": "redis-data"}, "spec": claim}]
        else:
            statefulset_spec["template"]["spec"]["volumes"] = [{"name": "redis-data", "emptyDir": {}}]  # type: ignore[index]
        k8s.apps.v1.StatefulSet(
            f"{name}-redis", metadata=cluster.metadata(redis_name, "online-store"), spec=statefulset_spec, opts=child(self)
        )
        k8s.core.v1.Service(
            f"{name}-redis-service",
            metadata=cluster.metadata(redis_name, "online-store"),
            spec={"selector": redis_labels, "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}]},
            opts=child(self),
        )

        spec_volume, spec_mount = cluster.spec_volume()
        code_volumes, code_mounts = cluster.code_volume()
        data_volume, data_mount = cluster.data_volume()
        server = container(
            "feature-server",
            cluster.image,
            ["features", "serve", "--host", "0.0.0.0", "--port", str(FEATURE_SERVER_PORT)],
            Resources(cpu="250m", memory="512Mi"),
            env=cluster.runtime_env(),
            mounts=[spec_mount, *code_mounts, data_mount],
            ports=[{"name": "http", "containerPort": FEATURE_SERVER_PORT}],
            readinessProbe=http_probe("/health", FEATURE_SERVER_PORT),
            livenessProbe=http_probe("/health", FEATURE_SERVER_PORT, period=20, delay=30),
        )
        service = single_replica_service(
            self,
            cluster,
            resource_names=(f"{name}-feature-server", f"{name}-feature-service"),
            name=cluster.names.features(),
            component="feature-server",
            containers=[server],
            volumes=[spec_volume, *code_volumes, data_volume, TMP_VOLUME],
            port=FEATURE_SERVER_PORT,
        )
        materialize = container(
            "materialize",
            cluster.image,
            ["features", "materialize"],
            Resources(cpu="500m", memory="1Gi"),
            env=cluster.runtime_env(),
            mounts=[spec_mount, *code_mounts, data_mount],
        )
        k8s.batch.v1.CronJob(
            f"{name}-materialize",
            metadata=cluster.metadata(cluster.names.materialize(), "materialization"),
            spec={
                "schedule": store.materialization.schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 2,
                        "template": {
                            "metadata": {"labels": cluster.labels("materialization")},
                            "spec": cluster.pod_spec(
                                [materialize], [spec_volume, *code_volumes, data_volume, TMP_VOLUME], restartPolicy="OnFailure"
                            ),
                        },
                    }
                },
            },
            opts=child(self),
        )
        self.feature_server_url = service.metadata["name"].apply(lambda n: f"http://{n}:{FEATURE_SERVER_PORT}")
        self.register_outputs({"feature_server_url": self.feature_server_url})
