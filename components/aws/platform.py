"""The platform on AWS: the encryption key all its data is kept under, and every part built on it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_dsl.loader import ResolvedSpec
from mlops_dsl.spec.environment import AwsTarget


@dataclass(frozen=True)
class AwsPlatformArgs:
    """Inputs of :class:`AwsPlatform`."""

    spec: ResolvedSpec
    """The platform resolved for an aws environment."""

    @property
    def target(self) -> AwsTarget:
        """The environment's AWS settings."""
        if not isinstance(self.spec.target, AwsTarget):
            raise TypeError(f"AwsPlatform needs an aws environment, got {self.spec.target.kind!r}")
        return self.spec.target


class AwsPlatform(pulumi.ComponentResource):
    """Every AWS resource of one platform environment."""

    kms_key_arn: pulumi.Output[str]
    """The customer-managed KMS key that encrypts the platform's data at rest."""

    def __init__(self, name: str, args: AwsPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Platform", name, {}, opts)
        spec = args.spec
        tags = {"mlops:platform": spec.platform.name, "mlops:environment": spec.environment, "mlops:stage": spec.stage}
        # An explicit provider, so the spec's region (not ambient AWS config) says where.
        provider = aws.Provider(
            f"{name}-region",
            region=args.target.region,
            allowed_account_ids=[args.target.account_id] if args.target.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = aws.kms.Key(
            f"{name}-data-key",
            description=f"Encrypts the data of MLOps platform {spec.platform.name} ({spec.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.kms_key_arn = key.arn
        self.register_outputs({"kms_key_arn": self.kms_key_arn})
