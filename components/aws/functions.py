"""The code of the platform's Lambda functions: the AWS runtime folder, packaged as it is.

The archive holds every module of :mod:`mlops_dsl.aws` and of :mod:`mlops_dsl.contracts`,
and the spec's durations (stdlib only; the retraining decisions format durations with
it). They need only the standard library and boto3, which Lambda provides
(import-linter holds them to that); stub package ``__init__`` files keep the spec's
pydantic models out. tests/test_aws_target.py lists the archive's contents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement
from mlops_dsl.contracts.names import autonamed

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_dsl"
FOLDERS = ("aws", "contracts")
"""The folders the archive ships whole: the functions and what they share with the runtime."""
VALUE_TYPES = ("spec/durations.py",)
"""Single stdlib-only modules of other layers that the contracts import."""
STUB_PACKAGES = ("__init__.py", "spec/__init__.py")
"""Package files replaced by a docstring, so importing a module below them imports nothing else."""
RUNTIME = "python3.12"


def archive_files() -> list[str]:
    """The archive's files, as paths under ``mlops_dsl/``, sorted."""
    files = [str(path.relative_to(PACKAGE)) for folder in FOLDERS for path in (PACKAGE / folder).glob("*.py")]
    return sorted([*files, *VALUE_TYPES, *STUB_PACKAGES])


def archive() -> pulumi.AssetArchive:
    """The zip every platform function runs from (each with its own handler)."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for name in archive_files():
        if name in STUB_PACKAGES:
            assets[f"mlops_dsl/{name}"] = pulumi.StringAsset('"""mlops-dsl functions."""\n')
        else:
            assets[f"mlops_dsl/{name}"] = pulumi.FileAsset(str(PACKAGE / name))
    return pulumi.AssetArchive(assets)


HANDLERS = {
    "trigger": "mlops_dsl.aws.trigger_function.handler",
    "deploy": "mlops_dsl.aws.deploy_function.handler",
    "batch": "mlops_dsl.aws.batch_function.handler",
    "notify": "mlops_dsl.aws.notify_function.handler",
}


def function(
    name: str,
    *,
    account: Account,
    role: str,
    statements: list[dict[str, Any]],
    environment: dict[str, pulumi.Input[str]],
    parent: pulumi.Resource,
    timeout: int = 60,
    instance: str = "",
) -> aws.lambda_.Function:
    """One of the platform's functions: its log group (encrypted, 90-day retention), its role, the function.

    ``role`` picks the handler; ``instance`` tells apart several functions of one role (a forwarder per
    channel). The environment is encrypted at rest with the platform's key, which the role may decrypt.
    """
    physical = account.names.function(f"{role}-{instance}" if instance else role)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/lambda/{physical}",
        retention_in_days=90,
        kms_key_id=account.kms_key_arn,
        tags=account.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    needed = [*statements, account.logs_statement(f"/aws/lambda/{physical}")]
    if not any("kms:Decrypt" in s["Action"] for s in statements):  # the environment is encrypted with the key
        needed.append(statement(["kms:Decrypt"], [account.kms_key_arn]))
    execution = account.role(f"{name}-role", "lambda.amazonaws.com", needed, parent=parent)
    return aws.lambda_.Function(
        name,
        name=physical,
        runtime=RUNTIME,
        handler=HANDLERS[role],
        code=archive(),
        role=execution.arn,
        timeout=timeout,
        memory_size=256,
        environment={"variables": environment},
        kms_key_arn=account.kms_key_arn,
        logging_config={"log_format": "JSON", "log_group": log_group.name},
        tags=account.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group]),
    )


def invoke_on(name: str, rule: aws.cloudwatch.EventRule, target: aws.lambda_.Function, payload: dict[str, str] | None = None) -> None:
    """Make an EventBridge rule invoke a function (with a fixed payload, if given)."""
    aws.cloudwatch.EventTarget(
        f"{name}-target",
        target_id=autonamed(f"{name}-target", "event_target"),
        rule=rule.name,
        arn=target.arn,
        input=None if payload is None else pulumi.Output.json_dumps(payload),
        opts=pulumi.ResourceOptions(parent=rule),
    )
    allow_invoke(f"{name}-permission", target, "events.amazonaws.com", rule.arn, parent=rule)


def allow_invoke(name: str, target: aws.lambda_.Function, principal: str, source_arn: pulumi.Input[str], parent: pulumi.Resource) -> None:
    """Let one source (a rule, a topic) of an AWS service invoke a function, and nothing else."""
    aws.lambda_.Permission(
        name,
        statement_id=autonamed(name, "lambda_permission"),
        action="lambda:InvokeFunction",
        function=target.name,
        principal=principal,
        source_arn=source_arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
