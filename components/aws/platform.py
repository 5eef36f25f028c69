"""The platform on AWS: one component that composes every part of the spec.

The platform's customer-managed KMS key encrypts its data at rest: buckets,
feature groups, SageMaker volumes and outputs, captured traffic, the state
table, the topics and the functions' logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import Account
from components.aws.feature_store import FeatureStore, FeatureStoreArgs
from components.aws.monitoring import Monitoring, MonitoringArgs
from components.aws.registry import ModelRegistry, ModelRegistryArgs
from components.aws.retraining import RetrainingTrigger, RetrainingTriggerArgs
from components.aws.serving import ModelServing, ModelServingArgs
from components.aws.storage import Storage, StorageArgs
from components.aws.training import TrainingPipeline, TrainingPipelineArgs
from components.secrets import required_secret
from mlops_dsl.contracts.aws import DeploySettings
from mlops_dsl.contracts.names import AwsNames
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.loading.stack import config_secret_names
from mlops_dsl.spec.environment import AwsTarget

# Every key action, named (a key policy needs them for its own account; no wildcard).
KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]


@dataclass(frozen=True)
class AwsPlatformArgs:
    """Inputs of :class:`AwsPlatform`."""

    spec: ResolvedSpec
    """The platform resolved for an aws environment."""
    secrets: Mapping[str, pulumi.Input[str]] | None = None
    """Channel secrets by spec secret name; read from Pulumi config secrets when not given."""

    @property
    def target(self) -> AwsTarget:
        """The environment's AWS settings."""
        if not isinstance(self.spec.target, AwsTarget):
            raise TypeError(f"AwsPlatform needs an aws environment, got {self.spec.target.kind!r}")
        return self.spec.target


def _key_policy(account_id: pulumi.Output[str], region: str) -> pulumi.Output[str]:
    root = pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                # Resource "*" in a key policy means this key; the account's IAM policies then decide who uses it.
                {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": root}, "Action": KEY_ADMINISTRATION, "Resource": "*"},
                {
                    "Sid": "AlarmsPublishToEncryptedTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
                {
                    "Sid": "LogsEncryptFunctionLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                                f"arn:aws:logs:{region}:", account_id, ":log-group:*"
                            )
                        }
                    },
                },
            ],
        }
    )


def secret_config_names(spec: ResolvedSpec) -> list[str]:
    """The Pulumi config secrets the platform reads: the channels' (EventBridge drives the trigger, so no webhook token)."""
    return sorted(config_secret_names(spec))


class AwsPlatform(pulumi.ComponentResource):
    """Every AWS resource of one platform environment."""

    kms_key_arn: pulumi.Output[str]
    """The customer-managed KMS key that encrypts the platform's data at rest."""
    data_bucket: pulumi.Output[str]
    """Where raw data and the offline feature store live."""
    endpoints: pulumi.Output[dict[str, str]]
    """SageMaker endpoint names by model (created at the first approved version)."""
    trigger_function: pulumi.Output[str]
    """The retraining trigger function."""

    def __init__(self, name: str, args: AwsPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Platform", name, {}, opts)
        spec = args.spec
        names = AwsNames(spec.platform.name, spec.environment)
        tags = {"mlops:platform": spec.platform.name, "mlops:environment": spec.environment, "mlops:stage": spec.stage}
        # An explicit provider, so the spec's region (not ambient AWS config) says where.
        provider = aws.Provider(
            f"{name}-region",
            region=args.target.region,
            allowed_account_ids=[args.target.account_id] if args.target.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, providers={"aws": provider})
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
        key = aws.kms.Key(
            f"{name}-data-key",
            description=f"Encrypts the data of MLOps platform {spec.platform.name} ({spec.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_key_policy(account_id, args.target.region),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        aws.kms.Alias(
            f"{name}-data-key-alias",
            name=names.kms_alias("data"),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=key, provider=provider),
        )
        account = Account(spec, names, account_id, key.arn)
        config = pulumi.Config()
        secrets = args.secrets if args.secrets is not None else {n: required_secret(n, config) for n in secret_config_names(spec)}

        storage = Storage(f"{name}-storage", StorageArgs(account), inside)
        features = FeatureStore(f"{name}-features", FeatureStoreArgs(account, storage.data_bucket), inside)
        feature_groups = {view.name: names.feature_group(view.name) for view in spec.platform.feature_store.feature_views}
        pipelines: dict[str, pulumi.Output[str]] = {}
        deploy: dict[str, pulumi.Output[DeploySettings]] = {}
        roles: dict[str, pulumi.Output[str]] = {}
        for model in spec.platform.models:
            training = TrainingPipeline(
                f"{name}-{model.name}-training",
                TrainingPipelineArgs(
                    account, model, storage.data_bucket, storage.artifacts_bucket, storage.spec_uri, feature_groups, storage.code_uri
                ),
                pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[features])),
            )
            pipelines[model.name] = training.pipeline_arn
            serving = ModelServing(
                f"{name}-{model.name}-serving", ModelServingArgs(account, model, storage.artifacts_bucket, storage.preprocessor_uri), inside
            )
            roles[model.name] = serving.role_arn
            if model.serving.online:
                deploy[model.name] = serving.deploy_settings
        ModelRegistry(f"{name}-registry", ModelRegistryArgs(account, deploy, roles, storage.data_bucket, storage.artifacts_bucket), inside)
        Monitoring(f"{name}-monitoring", MonitoringArgs(account, dict(secrets)), inside)
        trigger = RetrainingTrigger(f"{name}-retraining", RetrainingTriggerArgs(account, pipelines, storage.data_bucket), inside)

        self.kms_key_arn = key.arn
        self.data_bucket = storage.data_bucket
        self.endpoints = pulumi.Output.from_input({m.name: names.endpoint(m.name) for m in spec.platform.models if m.serving.online})
        self.trigger_function = trigger.function_name
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "data_bucket": self.data_bucket,
                "endpoints": self.endpoints,
                "trigger_function": self.trigger_function,
            }
        )
