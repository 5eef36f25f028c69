"""The retraining webhook on Kubernetes: the trigger service, its Service, and RBAC that lets it
create Jobs in its own namespace and nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.context import JOBS_MOUNT, SECRETS_MOUNT, TMP_VOLUME, TRIGGER_PORT, Cluster, child, container, http_probe
from components.kubernetes.workloads import service_monitor, single_replica_service
from mlops_dsl.contracts.environment import TRIGGER_URL_ENV, WEBHOOK_SECRET_FILE_ENV
from mlops_dsl.spec.training import Resources


@dataclass(frozen=True)
class RetrainingWebhookArgs:
    """Inputs of :class:`RetrainingWebhook`."""

    cluster: Cluster
    token_key: str
    """The key of the webhook token in the platform Secret."""
    job_templates: str
    """The ConfigMap of per-model Job templates."""


class RetrainingWebhook(pulumi.ComponentResource):
    """The retraining trigger, which Alertmanager calls and which starts training Jobs."""

    url: pulumi.Output[str]
    """Where Alertmanager posts notifications (``http://<service>:8082/alerts``)."""

    def __init__(self, name: str, args: RetrainingWebhookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:RetrainingWebhook", name, {}, opts)
        cluster = args.cluster
        service_name = cluster.names.retraining()
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=cluster.metadata(service_name, "retraining-webhook"),
            automount_service_account_token=True,
            opts=child(self),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=cluster.metadata(service_name, "retraining-webhook"),
            # Create Jobs, in this namespace, and nothing else: runs report back over HTTP.
            rules=[{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}],
            opts=child(self),
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=cluster.metadata(service_name, "retraining-webhook"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service_name},
            subjects=[{"kind": "ServiceAccount", "name": service_name, "namespace": cluster.namespace}],
            opts=child(self, account, role),
        )
        spec_volume, spec_mount = cluster.spec_volume()
        code_volumes, code_mounts = cluster.code_volume()
        data_volume, data_mount = cluster.data_volume()
        trigger = container(
            "trigger",
            cluster.image,
            ["trigger", "--backend", "kubernetes", "--host", "0.0.0.0", "--port", str(TRIGGER_PORT), "--job-templates", JOBS_MOUNT],
            Resources(cpu="100m", memory="512Mi"),
            env=[
                *cluster.runtime_env(
                    {
                        WEBHOOK_SECRET_FILE_ENV: f"{SECRETS_MOUNT}/token",
                        TRIGGER_URL_ENV: f"http://{service_name}:{TRIGGER_PORT}",
                    }
                ),
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            ],
            mounts=[
                spec_mount,
                *code_mounts,
                data_mount,
                {"name": "token", "mountPath": SECRETS_MOUNT, "readOnly": True},
                {"name": "jobs", "mountPath": JOBS_MOUNT, "readOnly": True},
            ],
            ports=[{"name": "http", "containerPort": TRIGGER_PORT}],
            readinessProbe=http_probe("/healthz", TRIGGER_PORT),
            livenessProbe=http_probe("/healthz", TRIGGER_PORT, period=20, delay=20),
        )
        volumes = [
            spec_volume,
            *code_volumes,
            data_volume,
            {"name": "token", "secret": {"secretName": cluster.secret, "items": [{"key": args.token_key, "path": "token"}]}},
            {"name": "jobs", "configMap": {"name": args.job_templates}},
            TMP_VOLUME,
        ]
        # One replica: decisions are serialized by the trigger's SQLite state on the shared volume.
        service = single_replica_service(
            self,
            cluster,
            resource_names=(f"{name}-deployment", f"{name}-service"),
            name=service_name,
            component="retraining-webhook",
            containers=[trigger],
            volumes=volumes,
            port=TRIGGER_PORT,
            recreate=True,
            account=account,
        )
        service_monitor(self, cluster, f"{name}-scrape", service_name, "retraining-webhook")
        self.url = service.metadata["name"].apply(lambda n: f"http://{n}.{cluster.namespace}.svc:{TRIGGER_PORT}/alerts")
        self.register_outputs({"url": self.url})
