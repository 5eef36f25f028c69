"""Every physical name the platform derives, fitted to its target's limits: the one naming helper.

Kubernetes objects and AWS resources are named after the spec (``<platform>-<model>-server``,
``<platform>-<environment>-<model>``); the AWS functions and the retraining service name what
they create at run time (SageMaker models, endpoint configurations, transform jobs, training Jobs).

A name that fits its limit is its parts joined with '-', exactly as written. One that does not
keeps its head and ends in '-' and 8 hex characters of the SHA-256 of the whole unshortened text,
so two different long names stay different and a name is the same on every run. Distinct inputs
stay distinct: '--' is kept as it is, and a name whose edges had to be trimmed is hashed too.

Standard library only: ``mlops validate`` computes these names to refuse collisions
(:mod:`mlops_dsl.loading.name_rules`), the Pulumi components create them, and the AWS function
archive ships this folder (the deploy and batch functions name their SageMaker objects with it).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Literal

HASH_LENGTH = 8
"""Hex characters of the SHA-256 that end a shortened name."""
TIMESTAMP = "%Y%m%d%H%M%S"
"""How run-time names carry the time they were made (14 digits)."""


def digest(text: str) -> str:
    """The short stable hash that ends a shortened name."""
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def fit(*parts: str, limit: int, allowed: str = "A-Za-z0-9-") -> str:
    """``parts`` joined with '-', other characters than ``allowed`` turned into '-', in at most ``limit`` characters.

    A name that fits (and needs no trimming at its edges) is returned as it is; a longer one keeps
    its head and ends in '-' and the hash of the whole text.
    """
    whole = "-".join(parts)
    text = re.sub(f"[^{allowed}]", "-", whole)
    trimmed = text.strip("-")
    if len(text) <= limit and trimmed == text:
        return text
    head = trimmed[: limit - HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest(whole)}" if head else digest(whole)[:limit]


def _fit_between(head: str, middle: str, tail: str, *, limit: int, key: str | None = None) -> str:
    """``head + middle + tail`` in ``limit`` characters, ``head`` and ``tail`` kept whole: the middle gives way.

    For run-time names whose start an IAM policy matches (``<endpoint>-v*``) and whose end tells
    them apart (a timestamp, a run id). The hash is of ``key`` (the whole text by default).
    """
    text = head + middle + tail
    if len(text) <= limit:
        return text
    mark = digest(key if key is not None else text)
    room = limit - len(head) - len(tail)
    if room >= HASH_LENGTH + 2:  # some of the middle, '-' and the hash
        kept = middle[: room - HASH_LENGTH - 1].rstrip("-")
        return f"{head}{kept}-{mark}{tail}" if kept else f"{head}{mark}{tail}"
    if room >= 4:
        return f"{head}{mark[:room]}{tail}"
    return fit(text, limit=limit)


# --- Kubernetes ------------------------------------------------------------------------------

KubernetesKind = Literal["object", "service", "label_value", "cron_job", "stateful_set", "job"]

KUBERNETES_LIMITS: dict[KubernetesKind, int] = {
    "object": 63,  # a DNS-1123 label: the name of most objects, and of a Deployment's pods' owner
    "service": 63,  # a DNS-1035 label: the Service's name is a host name in its namespace
    "label_value": 63,
    # The CronJob controller names each Job "<cronjob>-<minutes since the epoch>" (11 characters),
    # and a Job's name must fit a label value (its pods carry job-name=<job>): the API server refuses
    # a CronJob name over 52.
    "cron_job": 52,
    # Each pod of a StatefulSet carries controller-revision-hash=<statefulset>-<hash of up to 10
    # characters>, a label value of at most 63: a longer StatefulSet is accepted, but its pods are
    # never created.
    "stateful_set": 52,
    "job": 63,  # the Job controller labels its pods job-name=<job>, a label value
}

KUBERNETES_NAME = "a-z0-9-"
"""The characters of a DNS-1123 label (the spec's names are lowercase already)."""


def kubernetes_fit(*parts: str, kind: KubernetesKind = "object") -> str:
    """A Kubernetes name of ``kind``: the parts joined with '-', fitted to the kind's limit.

    A shortened name keeps its last part, the object's role, whole after the hash
    (``<platform>-<model, cut>-<hash>-canary``), so ``kubectl get`` still tells a
    long model's stable server from its canary and its batch job.
    """
    limit = KUBERNETES_LIMITS[kind]
    name = fit(*parts, limit=limit, allowed=KUBERNETES_NAME)
    whole = "-".join(parts)
    if name == whole or len(parts) < 2 or len(parts[-1]) > limit // 4 or not re.fullmatch(f"[{KUBERNETES_NAME}]+", whole):
        return name
    return _fit_between("", "-".join(parts[:-1]), f"-{parts[-1]}", limit=limit, key=whole)


CONFIG_MAP_KEY_LIMIT = 253
"""The longest key a ConfigMap holds (a DNS-1123 subdomain's length)."""
CONFIG_MAP_KEY_CHARACTERS = "-._a-zA-Z0-9"
"""The characters of a ConfigMap key ('/' is not one of them)."""


def config_map_key(relative: str) -> str:
    """The ConfigMap key of a file at ``relative`` (a POSIX path): the path, each other character as '_', '-' and its hash.

    A key cannot hold '/', so a pod's volume maps each key back to the path (``configMap.items``).
    The hash of the whole path keeps ``a/b.py`` and ``a_b.py`` apart, and a shortened long path
    unique, within the 253 characters of a key.
    """
    safe = re.sub(f"[^{CONFIG_MAP_KEY_CHARACTERS}]", "_", relative)
    return f"{safe[: CONFIG_MAP_KEY_LIMIT - HASH_LENGTH - 1]}-{digest(relative)}"


def default_namespace(platform: str, environment: str) -> str:
    """The namespace of an environment that declares none: ``<platform>-<environment>``, as written (validate refuses one over 63)."""
    return f"{platform}-{environment}"


class KubernetesNames:
    """Every object name of one platform in its namespace: ``<platform>-<role>``, fitted to the kind's limit.

    A name several kinds share (a StatefulSet and its headless Service) fits the smallest limit.
    """

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def _name(self, *parts: str, kind: KubernetesKind = "object") -> str:
        return kubernetes_fit(self.platform, *parts, kind=kind)

    def spec(self) -> str:
        """The ConfigMap of the resolved spec every service mounts."""
        return self._name("spec")

    def secrets(self) -> str:
        """The Secret holding every secret of the platform."""
        return self._name("secrets")

    def data(self) -> str:
        """The PersistentVolumeClaim of the shared state."""
        return self._name("data")

    def runtime_account(self) -> str:
        """The ServiceAccount the runtime's pods run as."""
        return self._name("runtime")

    def redis(self) -> str:
        """The online store's StatefulSet and Service."""
        return self._name("redis", kind="stateful_set")

    def features(self) -> str:
        """The feature server's Deployment and Service."""
        return self._name("features", kind="service")

    def materialize(self) -> str:
        """The materialization CronJob."""
        return self._name("materialize", kind="cron_job")

    def registry_database(self) -> str:
        """The registry database's StatefulSet and Service."""
        return self._name("registry-db", kind="stateful_set")

    def registry_artifacts(self) -> str:
        """The PersistentVolumeClaim of the registry's artifacts."""
        return self._name("registry-artifacts")

    def registry(self) -> str:
        """The registry server's Deployment and Service."""
        return self._name("registry", kind="service")

    def jobs(self) -> str:
        """The ConfigMap of training Job templates."""
        return self._name("jobs")

    def code(self, content_hash: str) -> str:
        """The ConfigMap of the team's code, one per content: ``<platform>-code-<10 hex of its hash>``.

        New code is a new ConfigMap (they are immutable), whose new name in every pod template rolls the pods.
        """
        return self._name("code", content_hash.removeprefix("sha256:")[:10])

    def retraining(self) -> str:
        """The retraining webhook: its ServiceAccount, Role, RoleBinding, Deployment, Service and ServiceMonitor."""
        return self._name("retraining", kind="service")

    def monitor(self) -> str:
        """The drift monitor's Deployment, Service and ServiceMonitor."""
        return self._name("monitor", kind="service")

    def alerts(self) -> str:
        """The PrometheusRule of every monitor."""
        return self._name("alerts")

    def routing(self) -> str:
        """The AlertmanagerConfig of the notification routes."""
        return self._name("routing")

    def server(self, model: str) -> str:
        """A model's stable server: Deployment, Service, autoscaler, disruption budget, ServiceMonitor."""
        return self._name(model, "server", kind="service")

    def canary(self, model: str) -> str:
        """A model's canary Deployment and Service."""
        return self._name(model, "canary", kind="service")

    def route(self, model: str) -> str:
        """A model's HTTPRoute on the gateway."""
        return self._name(model)

    def batch(self, model: str) -> str:
        """A model's batch-scoring CronJob."""
        return self._name(model, "batch", kind="cron_job")

    def training_schedule(self, model: str) -> str:
        """A model's scheduled-training CronJob."""
        return self._name(model, "train", kind="cron_job")


def job_template_name(model: str) -> str:
    """The name in a model's training Job template (each run renames its Job: :func:`retraining_job_name`)."""
    return kubernetes_fit(model, "train", kind="job")


def retraining_job_name(model: str, run_id: str) -> str:
    """The Job of one triggered run: ``<model>-train-<end of the run id>``, unique per run, at most 63.

    The end of the run id (its time and random part) is kept whole; a long model name gives way,
    with a hash of the model and the whole run id.
    """
    return _fit_between("", f"{model}-train", f"-{run_label(run_id)}", limit=KUBERNETES_LIMITS["job"], key=f"{model}-train-{run_id}")


def run_label(run_id: str) -> str:
    """The end of a run id (its time and random part) as a label value and a Job name suffix."""
    return re.sub(r"[^a-z0-9-]", "-", run_id.lower())[-20:].strip("-")


# --- AWS -------------------------------------------------------------------------------------

AwsKind = Literal[
    "endpoint",
    "endpoint_config",
    "model",
    "transform_job",
    "model_package_group",
    "job_definition",
    "schedule",
    "pipeline",
    "feature_group",
    "function",
    "rule",
    "event_target",
    "alarm",
    "table",
    "topic",
    "kms_alias",
    "role",
    "role_policy",
    "lambda_permission",
    "bucket_prefix",
]

AWS_LIMITS: dict[AwsKind, int] = {
    # SageMaker: names of at most 63 characters, letters, digits and '-'.
    "endpoint": 63,
    "endpoint_config": 63,
    "model": 63,
    "transform_job": 63,
    "model_package_group": 63,
    "job_definition": 63,  # data- and model-quality job definitions
    "schedule": 63,  # monitoring schedules
    "pipeline": 256,
    "feature_group": 64,
    "function": 64,  # Lambda
    "rule": 64,  # EventBridge
    "event_target": 64,  # an EventBridge target id; Pulumi autonames it
    "alarm": 255,  # CloudWatch
    "table": 255,  # DynamoDB
    "topic": 256,  # SNS
    "kms_alias": 256,  # with its "alias/" prefix
    "role": 64,  # IAM; Pulumi autonames it
    "role_policy": 128,  # an inline IAM policy; Pulumi autonames it
    "lambda_permission": 100,  # a statement id; Pulumi autonames it
    # Pulumi passes a prefix to the provider, which appends a 26-character unique suffix: 63 - 26.
    "bucket_prefix": 37,
}

AUTONAME_SUFFIX = 8
"""What Pulumi appends to the logical name of an autonamed resource: '-' and 7 random hex characters."""

ENDPOINT_RUNTIME_ROOM = 21
"""What the functions append to an endpoint's name: "-v<version>-<timestamp>" (a 4-digit version) and "-batch-<timestamp>"."""

PIPELINE_NAME_LIMIT = 62
"""The pipelines' names as they have always been fitted: within SageMaker's 256 for a pipeline, and
120 for the experiment that records its runs (named after the pipeline)."""


def autonamed(logical: str, kind: AwsKind) -> str | None:
    """None where Pulumi's autoname of ``logical`` (it and 8 characters) fits the kind's limit; else an explicit name that does."""
    limit = AWS_LIMITS[kind]
    if len(logical) + AUTONAME_SUFFIX <= limit:
        return None
    return fit(logical, limit=limit)


class AwsNames:
    """Every physical name of one platform environment on AWS, derived from ``<platform>-<environment>``."""

    def __init__(self, platform: str, environment: str) -> None:
        self.prefix = f"{platform}-{environment}"

    def endpoint(self, model: str) -> str:
        """A model's endpoint, with room for the names the functions derive from it (``ENDPOINT_RUNTIME_ROOM``)."""
        return fit(self.prefix, model, limit=AWS_LIMITS["endpoint"] - ENDPOINT_RUNTIME_ROOM)

    def model_package_group(self, model: str) -> str:
        """A model's package group in the registry."""
        return fit(self.prefix, model, limit=AWS_LIMITS["model_package_group"])

    def pipeline(self, model: str) -> str:
        """A model's training pipeline."""
        return fit(self.prefix, model, limit=PIPELINE_NAME_LIMIT)

    def feature_group(self, view: str) -> str:
        """A feature view's group (underscores become '-'; a view name has no '-', so views stay apart)."""
        return fit(self.prefix, view.replace("_", "-"), limit=AWS_LIMITS["feature_group"])

    def function(self, role: str) -> str:
        """A Lambda function of the platform (``deploy``, ``batch``, ``trigger``, ``notify-<channel>``)."""
        return fit(self.prefix, role, limit=AWS_LIMITS["function"])

    def rule(self, *parts: str) -> str:
        """An EventBridge rule."""
        return fit(self.prefix, *parts, limit=AWS_LIMITS["rule"])

    def alarm(self, model: str, monitor: str) -> str:
        """The CloudWatch alarm of a model's monitor."""
        return fit(self.prefix, model, monitor, limit=AWS_LIMITS["alarm"])

    def table(self, role: str) -> str:
        """A DynamoDB table."""
        return fit(self.prefix, role, limit=AWS_LIMITS["table"])

    def topic(self, channel: str) -> str:
        """A notification channel's topic."""
        return fit(self.prefix, "alerts", channel, limit=AWS_LIMITS["topic"], allowed="A-Za-z0-9_-")

    def kms_alias(self, role: str) -> str:
        """A key's alias, with its ``alias/`` prefix."""
        return "alias/" + fit(self.prefix, role, limit=AWS_LIMITS["kms_alias"] - len("alias/"))

    def monitoring(self, model: str, kind: str) -> str:
        """A model's Model Monitor job definition and schedule of ``kind`` (data-quality, model-quality)."""
        return fit(self.prefix, model, kind, limit=AWS_LIMITS["job_definition"])

    def bucket_prefix(self, role: str) -> str:
        """A bucket's prefix, its trailing '-' included in the provider's 37 characters."""
        return fit(self.prefix, role, limit=AWS_LIMITS["bucket_prefix"] - 1).lower() + "-"


def sagemaker_model_name(endpoint: str, version: str, deployment: str | None = None) -> str:
    """The SageMaker model of a version behind ``endpoint``: ``<endpoint>-v<version>``.

    With ``deployment`` (what identifies one rollout: the approval event's id) the name ends in its
    hash, so each rollout has a model of its own (a re-approved older version gets a new one) and a
    repeated delivery of the same event finds the model it made. Without, the version's one model
    (batch scoring reuses it).
    """
    tail = f"-{digest(deployment)}" if deployment else ""
    return _fit_between(f"{endpoint}-v", version, tail, limit=AWS_LIMITS["model"])


def endpoint_config_name(endpoint: str, version: str, at: datetime) -> str:
    """An endpoint configuration: ``<endpoint>-v<version>-<timestamp>``; the timestamp is kept whole."""
    return _fit_between(f"{endpoint}-v", version, f"-{at.strftime(TIMESTAMP)}", limit=AWS_LIMITS["endpoint_config"])


def transform_job_name(endpoint: str, at: datetime) -> str:
    """A batch transform job: ``<endpoint>-batch-<timestamp>``; the timestamp is kept whole."""
    return _fit_between(f"{endpoint}-batch-", "", at.strftime(TIMESTAMP), limit=AWS_LIMITS["transform_job"])
