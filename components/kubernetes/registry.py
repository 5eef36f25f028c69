"""The model registry on Kubernetes: an MLflow tracking server and registry, PostgreSQL behind it.

PostgreSQL (a StatefulSet with its own volume) holds the runs, versions,
tags and aliases; the MLflow server keeps artifacts (models, baselines) on
its volume and serves them over HTTP (``--serve-artifacts``), so trainers and
model servers need no storage of their own, only the registry's URL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import REGISTRY_PORT, TMP_VOLUME, Cluster, child, container, http_probe
from components.kubernetes.workloads import single_replica_service
from mlops_dsl.loading.stack import REGISTRY_DATABASE_PASSWORD as DATABASE_PASSWORD
from mlops_dsl.spec.training import Resources


@dataclass(frozen=True)
class ModelRegistryArgs:
    """Inputs of :class:`ModelRegistry`."""

    cluster: Cluster


def _claim(cluster: Cluster, size: str) -> dict[str, object]:
    claim: dict[str, object] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if cluster.target.storage_class:
        claim["storageClassName"] = cluster.target.storage_class
    return claim


class ModelRegistry(pulumi.ComponentResource):
    """MLflow's tracking server and model registry, with a PostgreSQL database and an artifact volume."""

    url: pulumi.Output[str]
    """The registry's URL inside the cluster (MLOPS_REGISTRY_URI for the runtime)."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:ModelRegistry", name, {}, opts)
        cluster = args.cluster
        db_name = cluster.names.registry_database()
        db_labels = cluster.selector("registry-database")
        password = {"secretKeyRef": {"name": cluster.secret, "key": DATABASE_PASSWORD}}
        database = {
            "name": "postgres",
            "image": "postgres:16-alpine",
            "env": [
                {"name": "POSTGRES_DB", "value": "mlflow"},
                {"name": "POSTGRES_USER", "value": "mlflow"},
                {"name": "POSTGRES_PASSWORD", "valueFrom": password},
                {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            ],
            "ports": [{"name": "postgres", "containerPort": 5432}],
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "mlflow"]}, "periodSeconds": 10},
            "livenessProbe": {"tcpSocket": {"port": 5432}, "periodSeconds": 20, "initialDelaySeconds": 20},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [
                {"name": "database", "mountPath": "/var/lib/postgresql/data"},
                {"name": "run", "mountPath": "/var/run/postgresql"},
            ],
        }
        k8s.apps.v1.StatefulSet(
            f"{name}-database",
            metadata=cluster.metadata(db_name, "registry-database"),
            spec={
                "serviceName": db_name,
                "replicas": 1,
                "selector": {"matchLabels": db_labels},
                "template": {
                    "metadata": {"labels": cluster.labels("registry-database")},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 70,
                            "fsGroup": 70,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [database],
                        "volumes": [{"name": "run", "emptyDir": {}}],
                    },
                },
                "volumeClaimTemplates": [{"metadata": {"name": "database"}, "spec": _claim(cluster, "10Gi")}],
            },
            opts=child(self),
        )
        k8s.core.v1.Service(
            f"{name}-database-service",
            metadata=cluster.metadata(db_name, "registry-database"),
            spec={"selector": db_labels, "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}]},
            opts=child(self),
        )

        artifacts = cluster.names.registry_artifacts()
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-artifacts", metadata=cluster.metadata(artifacts, "registry"), spec=_claim(cluster, "20Gi"), opts=child(self)
        )
        mlflow = container(
            "mlflow",
            cluster.image,
            [
                f"--backend-store-uri=postgresql://mlflow:$(DATABASE_PASSWORD)@{db_name}:5432/mlflow",
                "--artifacts-destination=/artifacts",
                "--serve-artifacts",
                "--host=0.0.0.0",
                f"--port={REGISTRY_PORT}",
                "--workers=2",
            ],
            Resources(cpu="250m", memory="1Gi"),
            env=[{"name": "DATABASE_PASSWORD", "valueFrom": password}, {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"}],
            mounts=[{"name": "artifacts", "mountPath": "/artifacts"}],
            ports=[{"name": "http", "containerPort": REGISTRY_PORT}],
            command=["mlflow", "server"],
            readinessProbe=http_probe("/health", REGISTRY_PORT),
            livenessProbe=http_probe("/health", REGISTRY_PORT, period=20, delay=30),
        )
        service = single_replica_service(
            self,
            cluster,
            resource_names=(f"{name}-server", f"{name}-service"),
            name=cluster.names.registry(),
            component="registry",
            containers=[mlflow],
            volumes=[{"name": "artifacts", "persistentVolumeClaim": {"claimName": artifacts}}, TMP_VOLUME],
            port=REGISTRY_PORT,
            recreate=True,  # one writer of the artifact volume at a time
        )
        self.url = service.metadata["name"].apply(lambda n: f"http://{n}:{REGISTRY_PORT}")
        self.register_outputs({"url": self.url})
