"""Policy rules for security at every stage: storage encrypted at rest, no wildcard actions, no secret in plain text.

"No secret in plain text" looks for the stand-in value of every config secret the
target reads (the one list in :func:`mlops_dsl.loading.stack.target_secret_names`);
a stack file that holds one of them as plain text is refused before a plan is made
(:func:`mlops_dsl.loading.stack.load_stack`).

What "storage encrypted at rest" checks: S3 buckets (a server-side
encryption configuration), DynamoDB tables, SNS topics, log groups, Lambda
environments, feature groups (offline and online stores), Model Monitor job
definitions, SageMaker pipeline steps (volumes and outputs), endpoint
configurations and the deploy settings of endpoints (KMS keys), EBS volumes
and EFS file systems. On Kubernetes a volume's encryption belongs to its
StorageClass and the cluster (etcd encryption for Secrets), which a plan does
not see, so PVCs and Secrets are out of its scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from mlops_dsl.loading.stack import target_secret_names
from mlops_dsl.review.markers import SECRET, stand_in_forms
from mlops_dsl.review.policy.view import Finding, PlanView, address_of, declared_in, json_document, pipeline_steps, value_at, walk
from mlops_dsl.spec.base import validating
from mlops_dsl.spec.platform import Platform

# Inputs that must be set for a resource of each type to be encrypted at rest.
_ENCRYPTION: dict[str, list[tuple[str, ...]]] = {
    "aws:dynamodb/table:Table": [("serverSideEncryption", "enabled")],
    "aws:sns/topic:Topic": [("kmsMasterKeyId",)],
    "aws:cloudwatch/logGroup:LogGroup": [("kmsKeyId",)],
    "aws:ebs/volume:Volume": [("encrypted",)],
    "aws:efs/fileSystem:FileSystem": [("encrypted",)],
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": [("kmsKeyArn",)],
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": [
        ("jobResources", "clusterConfig", "volumeKmsKeyId"),
        ("dataQualityJobOutputConfig", "kmsKeyId"),
    ],
    "aws:sagemaker/modelQualityJobDefinition:ModelQualityJobDefinition": [
        ("jobResources", "clusterConfig", "volumeKmsKeyId"),
        ("modelQualityJobOutputConfig", "kmsKeyId"),
    ],
}
# Where a pipeline step's arguments name the KMS key of its volumes and outputs.
_PIPELINE_KEYS = {
    "ClusterConfig": "VolumeKmsKeyId",
    "ResourceConfig": "VolumeKmsKeyId",
    "OutputDataConfig": "KmsKeyId",
}


def _unencrypted_pipeline_settings(arguments: Any) -> Iterator[str]:
    for path, value in walk(arguments):
        if isinstance(value, dict) and "[" not in path:  # as Arguments nest settings: in objects, not lists
            for key, setting in _PIPELINE_KEYS.items():
                if isinstance(value.get(key), dict) and not value[key].get(setting):
                    yield f"{path}.{key}.{setting}" if path else f"{key}.{setting}"


def encryption_at_rest(view: PlanView) -> Iterator[Finding]:
    """Every store the plan declares is encrypted at rest (see the module docstring for what is checked)."""
    fix = "encrypt it with the platform's KMS key (the platform components do; keep custom resources the same)"
    for resource in view.resources:
        for path in _ENCRYPTION.get(resource["type"], []):
            if not value_at(resource["inputs"], *path):
                yield Finding(address_of(resource), f"{'.'.join(path)} is not set, so its data is not encrypted at rest", fix)
    encrypted_buckets = {
        dependency
        for r in view.resources
        if r["type"].startswith("aws:s3/bucketServerSideEncryptionConfiguration")
        and value_at(r, "inputs", "rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        for dependency in r.get("dependencies", [])
    }
    for bucket in view.of_type("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        if address_of(bucket) not in encrypted_buckets and not bucket["inputs"].get("serverSideEncryptionConfiguration"):
            yield Finding(address_of(bucket), "the bucket has no server-side encryption configuration", fix)
    for function in view.of_type("aws:lambda/function:Function"):
        if value_at(function, "inputs", "environment", "variables") and not function["inputs"].get("kmsKeyArn"):
            yield Finding(address_of(function), "its environment variables are encrypted with no customer key (kmsKeyArn)", fix)
    for group in view.of_type("aws:sagemaker/featureGroup:FeatureGroup"):
        inputs = group["inputs"]
        if inputs.get("offlineStoreConfig") and not value_at(inputs, "offlineStoreConfig", "s3StorageConfig", "kmsKeyId"):
            yield Finding(address_of(group), "offlineStoreConfig.s3StorageConfig.kmsKeyId is not set", fix)
        if value_at(inputs, "onlineStoreConfig", "enableOnlineStore") and not value_at(
            inputs, "onlineStoreConfig", "securityConfig", "kmsKeyId"
        ):
            yield Finding(address_of(group), "onlineStoreConfig.securityConfig.kmsKeyId is not set", fix)
    for pipeline in view.of_type("aws:sagemaker/pipeline:Pipeline"):
        definition = json_document(pipeline["inputs"].get("pipelineDefinition")) or {}
        for step, _ in pipeline_steps(definition.get("Steps") or []):
            for setting in _unencrypted_pipeline_settings(step.get("Arguments")):
                yield Finding(address_of(pipeline), f"step {step.get('Name')}: {setting} is not set", fix)
    for endpoint, settings in sorted(view.endpoint_settings().items()):
        if not settings.get("kms_key"):
            yield Finding(f"endpoint:{endpoint}", f"endpoint {endpoint} has no KMS key for its volumes{declared_in(settings)}", fix)


def _policy_documents(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy document in a resource's inputs (JSON strings with a Statement), with its path."""
    for path, item in walk(value, into_json=True):
        if isinstance(item, dict) and "Statement" in item:
            yield path, item


def wildcard_actions(view: PlanView) -> Iterator[Finding]:
    """No IAM Allow statement with a wildcard action (or NotAction), no RBAC rule with the verb '*'."""
    for resource in view.resources:
        if not resource["type"].startswith("aws:"):
            continue
        for path, document in _policy_documents(resource["inputs"]):
            statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
            for index, statement in enumerate(statements):
                if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
                    continue  # a Deny with a wildcard narrows access
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                wild = [a for a in actions if a == "*" or str(a).endswith(":*")]
                if wild or "NotAction" in statement:
                    what = f"allows {', '.join(map(repr, wild))}" if wild else "allows everything but its NotAction"
                    yield Finding(
                        address_of(resource),
                        f"{path}.Statement[{index}] {what}",
                        "name each action the statement needs (e.g. s3:GetObject), never a wildcard",
                    )
    for resource, manifest in view.manifests("Role") + view.manifests("ClusterRole"):
        for index, item in enumerate(manifest.get("rules") or []):
            if "*" in (item.get("verbs") or []):
                yield Finding(
                    address_of(resource),
                    f"rules[{index}] allows every verb ('*') on {item.get('resources')}",
                    "list the verbs the rule needs (e.g. create, get)",
                )


_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_KEY|PRIVATE_KEY|WEBHOOK_URL|ROUTING_KEY|CREDENTIALS?)$", re.I)


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    for path, item in walk(value):
        if isinstance(item, str):
            yield path, item


def _env_literals(value: Any) -> Iterator[tuple[str, str]]:
    """(path, name) of container env entries with a literal value under a secret-sounding name."""
    for path, item in walk(value):
        named = path.endswith("]") and isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)
        if named and _SECRET_NAME.search(item["name"]) and item["value"] != SECRET:
            yield path, item["name"]


def config_secrets(view: PlanView) -> set[str]:
    """The config secrets to look for: those the plan stood in for, and every one its target reads for its spec.

    The second comes from the same list the components and the stack check read
    (:func:`mlops_dsl.loading.stack.target_secret_names`), so the rule does not rest on the plan's own list alone.
    """
    names = set(view.plan.get("secrets", []))
    spec = view.artifacts.get("platform_spec")
    environment = view.plan.get("environment")
    if isinstance(spec, dict) and isinstance(environment, str) and environment in (spec.get("environments") or {}):
        try:
            with validating():
                platform = Platform.model_validate(spec)
        except ValidationError:
            return names  # a plan edited by hand; its own list is all there is
        names |= target_secret_names(platform, platform.environments[environment].target)
    return names


def plain_text_secrets(view: PlanView) -> Iterator[Finding]:
    """No config secret in plain text, no Secret data or secret-named variable written in the program."""
    fix = "set it with `pulumi config set --secret` and reference it as a secret (Output.secret, or a secretKeyRef)"
    leaks = {form: name for name in sorted(config_secrets(view)) for form in stand_in_forms(name)}
    for resource in view.resources:
        for path, text in _strings(resource["inputs"]):
            for form, name in leaks.items():
                if form in text:
                    yield Finding(address_of(resource), f"{path} holds config secret {name} in plain text", fix)
        if resource["type"] == "kubernetes:core/v1:Secret":
            for key in ("data", "stringData"):
                entries = resource["inputs"].get(key)  # all of it "[secret]" when every value is one
                for entry, value in (entries if isinstance(entries, dict) else {}).items():
                    if value != SECRET:
                        yield Finding(
                            address_of(resource),
                            f"{key}.{entry} is written in the program, not read from a config secret",
                            fix,
                        )
        if resource["type"].startswith("kubernetes:"):
            for path, name in _env_literals(resource["inputs"]):
                yield Finding(address_of(resource), f"{path} sets {name} to a literal value", "use valueFrom.secretKeyRef")
        variables = value_at(resource, "inputs", "environment", "variables")
        for name, value in (variables if isinstance(variables, dict) else {}).items():
            if _SECRET_NAME.search(name) and value != SECRET:
                yield Finding(address_of(resource), f"environment variable {name} is set in plain text", fix)
    for path, text in _strings(view.plan.get("outputs") or {}):
        for form, name in leaks.items():
            if form in text:
                yield Finding(f"output:{path}", f"stack output {path} holds config secret {name} in plain text", fix)
