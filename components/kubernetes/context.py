"""What every Kubernetes component of a platform shares, and helpers that keep manifests small.

Manifests are written as plain dicts in Kubernetes' own field names, so each
component reads like the YAML it becomes.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pulumi

from mlops_dsl.contracts.code import CODE_DIR_ENV, KUBERNETES_CODE_DIR, code_files, content_hash
from mlops_dsl.contracts.environment import ENVIRONMENT_ENV, REGISTRY_URI_ENV, SPEC_ENV, STATE_DIR_ENV
from mlops_dsl.contracts.names import KubernetesNames, config_map_key
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.spec.environment import KubernetesTarget
from mlops_dsl.spec.training import Resources

SPEC_MOUNT = "/etc/mlops/spec"
STATE_DIR = "/var/lib/mlops"
SECRETS_MOUNT = "/etc/mlops/secrets"
JOBS_MOUNT = "/etc/mlops/jobs"
SERVER_PORT = 8080
MONITOR_PORT = 8081
TRIGGER_PORT = 8082
FEATURE_SERVER_PORT = 6566
REGISTRY_PORT = 5000


@dataclass(frozen=True)
class CodeFile:
    """One file of the team's code in its ConfigMap."""

    key: str
    """Its ConfigMap key (:func:`~mlops_dsl.contracts.names.config_map_key`)."""
    path: str
    """Its POSIX path in the code folder, where the pod's volume puts it."""
    content: bytes


def _text(content: bytes) -> str | None:
    """The content as text, where a ConfigMap's ``data`` can carry it (UTF-8 without NUL); else None."""
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class Code:
    """The team's code (``Platform.code``) as one ConfigMap carries it to every runtime pod."""

    hash: str
    """The content hash the runtime records (:func:`~mlops_dsl.contracts.code.content_hash`)."""
    files: tuple[CodeFile, ...]

    @classmethod
    def read(cls, root: Path) -> Code:
        """The files of the code folder ``root`` (:func:`~mlops_dsl.contracts.code.code_files`) and their hash."""
        entries = [(relative, path.read_bytes()) for relative, path in code_files(root)]
        return cls(content_hash(entries), tuple(CodeFile(config_map_key(relative), relative, content) for relative, content in entries))

    def data(self) -> dict[str, str]:
        """The ConfigMap's ``data``: each text file by key."""
        return {f.key: text for f in self.files if (text := _text(f.content)) is not None}

    def binary_data(self) -> dict[str, str]:
        """The ConfigMap's ``binaryData``: each other file by key, base64."""
        return {f.key: base64.b64encode(f.content).decode("ascii") for f in self.files if _text(f.content) is None}

    def items(self) -> list[dict[str, str]]:
        """The volume's ``items``: each key back at its path (keys cannot hold '/')."""
        return [{"key": f.key, "path": f.path} for f in self.files]


@dataclass(frozen=True)
class Cluster:
    """The resolved spec and the names every component refers to."""

    spec: ResolvedSpec
    namespace: str

    @property
    def target(self) -> KubernetesTarget:
        """The environment's Kubernetes settings."""
        target = self.spec.target
        if not isinstance(target, KubernetesTarget):
            raise TypeError(f"the Kubernetes components need a kubernetes environment, got {target.kind!r}")
        return target

    @property
    def platform_name(self) -> str:
        """The platform's name, the prefix of every object name."""
        return self.spec.platform.name

    @property
    def image(self) -> str:
        """The runtime image that runs every service of the platform."""
        return self.spec.platform.image

    @property
    def names(self) -> KubernetesNames:
        """Every object name of the platform, each fitted to its kind's limit (:mod:`mlops_dsl.contracts.names`)."""
        return KubernetesNames(self.platform_name)

    @property
    def spec_config_map(self) -> str:
        return self.names.spec()

    @cached_property
    def code(self) -> Code | None:
        """The team's code, read once from the spec's code folder; None when the platform names none."""
        root = self.spec.code_dir
        return None if root is None else Code.read(root)

    @property
    def code_config_map(self) -> str | None:
        """The ConfigMap holding the team's code (named after its hash); None without code."""
        return None if self.code is None else self.names.code(self.code.hash)

    @property
    def secret(self) -> str:
        """The Secret holding every secret of the platform, keyed by the spec's secret names."""
        return self.names.secrets()

    @property
    def data_claim(self) -> str:
        return self.names.data()

    @property
    def runtime_account(self) -> str:
        return self.names.runtime_account()

    @property
    def registry_url(self) -> str:
        return f"http://{self.names.registry()}:{REGISTRY_PORT}"

    def labels(self, component: str, **extra: str) -> dict[str, str]:
        """Standard labels for an object of ``component``."""
        return {
            "app.kubernetes.io/name": component,
            "app.kubernetes.io/instance": self.platform_name,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": self.platform_name,
            "app.kubernetes.io/managed-by": "mlops-dsl",
            "mlops.dev/environment": self.spec.environment,
            **extra,
        }

    def selector(self, component: str, **extra: str) -> dict[str, str]:
        """The labels that select a component's pods (stable across versions)."""
        return {"app.kubernetes.io/instance": self.platform_name, "app.kubernetes.io/component": component, **extra}

    def metadata(self, name: str, component: str, **extra: str) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace, "labels": self.labels(component, **extra)}

    def runtime_env(self, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The environment every runtime container gets: spec, state, registry, the code (if any); then ``extra``.

        Names are from :mod:`mlops_dsl.contracts.environment` (and the code's from :mod:`mlops_dsl.contracts.code`).
        """
        env = {
            SPEC_ENV: f"{SPEC_MOUNT}/platform.json",
            ENVIRONMENT_ENV: self.spec.environment,
            STATE_DIR_ENV: STATE_DIR,
            REGISTRY_URI_ENV: self.registry_url,
            **({CODE_DIR_ENV: KUBERNETES_CODE_DIR} if self.code is not None else {}),
            **(extra or {}),
        }
        return [{"name": key, "value": value} for key, value in env.items()]

    def spec_volume(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The spec ConfigMap as a (volume, mount) pair."""
        return (
            {"name": "spec", "configMap": {"name": self.spec_config_map}},
            {"name": "spec", "mountPath": SPEC_MOUNT, "readOnly": True},
        )

    def code_volume(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The team's code as ([volume], [mount]), read-only at ``KUBERNETES_CODE_DIR``; both empty without code.

        Every container that runs the runtime mounts it (with ``MLOPS_CODE_DIR`` from :meth:`runtime_env`).
        """
        if self.code is None or self.code_config_map is None:
            return [], []
        return (
            [{"name": "code", "configMap": {"name": self.code_config_map, "items": self.code.items()}}],
            [{"name": "code", "mountPath": KUBERNETES_CODE_DIR, "readOnly": True}],
        )

    def data_volume(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The shared state volume (data, Feast repo, captured traffic) as a (volume, mount) pair."""
        return (
            {"name": "state", "persistentVolumeClaim": {"claimName": self.data_claim}},
            {"name": "state", "mountPath": STATE_DIR},
        )

    def pod_spec(
        self, containers: list[dict[str, Any]], volumes: list[dict[str, Any]], *, account: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A pod spec with the platform's defaults: non-root, no service account token unless asked."""
        spec: dict[str, Any] = {
            "serviceAccountName": account or self.runtime_account,
            "automountServiceAccountToken": account is not None,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": containers,
            "volumes": volumes,
            **extra,
        }
        if self.target.image_pull_secret:
            spec["imagePullSecrets"] = [{"name": self.target.image_pull_secret}]
        return spec


def container(
    name: str,
    image: str,
    args: list[str],
    resources: Resources,
    *,
    env: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
    ports: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A locked-down container: read-only root, no privilege escalation, no capabilities."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "args": args,
        "env": env,
        "volumeMounts": [*mounts, {"name": "tmp", "mountPath": "/tmp"}],
        "resources": requests_and_limits(resources),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        **extra,
    }
    if ports:
        spec["ports"] = ports
    return spec


TMP_VOLUME = {"name": "tmp", "emptyDir": {}}


def requests_and_limits(resources: Resources) -> dict[str, Any]:
    """Kubernetes requests and limits from the spec's resources (GPUs as nvidia.com/gpu)."""
    requests: dict[str, Any] = {"cpu": resources.cpu, "memory": resources.memory}
    limits: dict[str, Any] = {"memory": resources.memory}
    if resources.gpu:
        requests["nvidia.com/gpu"] = str(resources.gpu)
        limits["nvidia.com/gpu"] = str(resources.gpu)
    return {"requests": requests, "limits": limits}


def http_probe(path: str, port: int, period: int = 10, delay: int = 5) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "initialDelaySeconds": delay,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def canary_replicas(stable: int, percent: int) -> int:
    """Replicas for a canary that takes ``percent`` of traffic next to ``stable`` replicas."""
    return max(1, math.ceil(stable * percent / (100 - percent)))


def child(parent: pulumi.Resource, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for a child resource: parented (so it inherits the provider), after its dependencies."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on) or None)
