"""Training on Kubernetes: a Job template per model (which the retraining webhook instantiates)
and a CronJob for each model's training schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.kubernetes.context import JOBS_MOUNT, SECRETS_MOUNT, TMP_VOLUME, Cluster, child, container
from mlops_dsl.contracts.environment import TRIGGER_REASON_ENV, WEBHOOK_SECRET_FILE_ENV
from mlops_dsl.contracts.names import job_template_name
from mlops_dsl.spec.platform import Model


@dataclass(frozen=True)
class TrainingArgs:
    """Inputs of :class:`Training`."""

    cluster: Cluster
    token_key: str
    """The key of the webhook token in the platform Secret (runs report results with it)."""


def job_spec(cluster: Cluster, model: Model, token_key: str, reason: str) -> dict[str, Any]:
    """The Job spec that runs one training run of ``model``."""
    spec_volume, spec_mount = cluster.spec_volume()
    code_volumes, code_mounts = cluster.code_volume()
    data_volume, data_mount = cluster.data_volume()
    token = {"name": "token", "secret": {"secretName": cluster.secret, "items": [{"key": token_key, "path": "token"}]}}
    # Always the built-in trainer: a training function of the team's code (training.entrypoint)
    # is one it imports from the mounted code and calls in place of fitting the estimator.
    trainer = container(
        "train",
        model.training.image or cluster.image,
        ["train", "--model", model.name],
        model.training.resources,
        env=cluster.runtime_env({TRIGGER_REASON_ENV: reason, WEBHOOK_SECRET_FILE_ENV: f"{SECRETS_MOUNT}/token"}),
        mounts=[spec_mount, *code_mounts, data_mount, {"name": "token", "mountPath": SECRETS_MOUNT, "readOnly": True}],
    )
    return {
        "backoffLimit": 0,  # a failed run is recorded and retriggered by policy, not retried blindly
        "activeDeadlineSeconds": int(model.training.timeout.total_seconds()),
        "ttlSecondsAfterFinished": 7 * 24 * 3600,
        "template": {
            "metadata": {"labels": cluster.labels("training", **{"mlops.dev/model": model.name})},
            "spec": cluster.pod_spec([trainer], [spec_volume, *code_volumes, data_volume, token, TMP_VOLUME], restartPolicy="Never"),
        },
    }


def job_template(cluster: Cluster, model: Model, token_key: str) -> dict[str, Any]:
    """The Job manifest the retraining webhook copies for each triggered run."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": cluster.metadata(job_template_name(model.name), "training", **{"mlops.dev/model": model.name}),
        "spec": job_spec(cluster, model, token_key, reason="triggered"),
    }


class Training(pulumi.ComponentResource):
    """Job templates for triggered runs, and CronJobs for scheduled ones."""

    job_templates: pulumi.Output[str]
    """The ConfigMap of Job templates the retraining webhook mounts."""

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Training", name, {}, opts)
        cluster = args.cluster
        templates = {
            f"{m.name}.yaml": yaml.safe_dump(job_template(cluster, m, args.token_key), sort_keys=False)
            for m in cluster.spec.platform.models
        }
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-job-templates", metadata=cluster.metadata(cluster.names.jobs(), "training"), data=templates, opts=child(self)
        )
        for model in cluster.spec.platform.models:
            if model.training.schedule is None:
                continue
            k8s.batch.v1.CronJob(
                f"{name}-{model.name}-schedule",
                metadata=cluster.metadata(cluster.names.training_schedule(model.name), "training", **{"mlops.dev/model": model.name}),
                spec={
                    "schedule": model.training.schedule,
                    "concurrencyPolicy": "Forbid",
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {"spec": job_spec(cluster, model, args.token_key, reason=f"schedule ({model.training.schedule})")},
                },
                opts=child(self),
            )
        self.job_templates = config_map.metadata["name"]
        self.register_outputs({"job_templates": self.job_templates})


__all__ = ["JOBS_MOUNT", "Training", "TrainingArgs", "job_template"]
