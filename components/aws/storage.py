"""Storage on AWS: the platform's data and artifacts buckets, encrypted with its KMS key.

Every bucket is encrypted with the platform's customer-managed key (with an S3
bucket key), versioned, blocks all public access, enforces bucket-owner
ownership and refuses requests that are not over TLS. The data bucket sends
its events to EventBridge, where new raw data triggers retraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, as_json
from mlops_dsl.contracts.code import ARCHIVE_NAME, code_files, code_hash
from mlops_dsl.loading.loader import resolved_json

RECORD_PREPROCESSOR = Path(__file__).resolve().parents[2] / "mlops_dsl" / "aws" / "record_preprocessor.py"


def code_key(content_hash: str) -> str:
    """The code archive's key in the artifacts bucket: one per content, ``code/<16 hex of its hash>/code.zip``."""
    return f"code/{content_hash.removeprefix('sha256:')[:16]}/{ARCHIVE_NAME}"


@dataclass(frozen=True)
class StorageArgs:
    """Inputs of :class:`Storage`."""

    account: Account


class Storage(pulumi.ComponentResource):
    """The data bucket (raw data, offline feature store) and the artifacts bucket (pipelines, models, capture, monitoring)."""

    data_bucket: pulumi.Output[str]
    """The name of the data bucket."""
    artifacts_bucket: pulumi.Output[str]
    """The name of the artifacts bucket."""
    spec_uri: pulumi.Output[str]
    """The resolved spec in S3, which every pipeline step reads."""
    preprocessor_uri: pulumi.Output[str]
    """Model Monitor's record preprocessor script in S3."""
    code_uri: pulumi.Output[str] | None
    """The team's code (``Platform.code``) as a zip archive in S3, which every pipeline step gets; None without code."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Storage", name, {}, opts)
        account = args.account
        data = self._bucket(f"{name}-data", account, "data")
        artifacts = self._bucket(f"{name}-artifacts", account, "artifacts")
        aws.s3.BucketNotification(f"{name}-data-events", bucket=data.id, eventbridge=True, opts=pulumi.ResourceOptions(parent=data))
        spec_object = aws.s3.BucketObjectv2(
            f"{name}-spec",
            bucket=artifacts.id,
            key=f"spec/{account.spec.environment}/platform.json",
            content=resolved_json(account.spec),
            content_type="application/json",
            server_side_encryption="aws:kms",
            kms_key_id=account.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=artifacts),
        )
        preprocessor = aws.s3.BucketObjectv2(
            f"{name}-record-preprocessor",
            bucket=artifacts.id,
            key="code/record_preprocessor.py",
            source=pulumi.FileAsset(str(RECORD_PREPROCESSOR)),
            server_side_encryption="aws:kms",
            kms_key_id=account.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=artifacts),
        )
        self.code_uri = None
        code_dir = account.spec.code_dir
        if code_dir is not None:
            code = aws.s3.BucketObjectv2(
                f"{name}-code",
                bucket=artifacts.id,
                key=code_key(code_hash(code_dir)),  # new code, new key: a run keeps the code it started with
                source=pulumi.AssetArchive({relative: pulumi.FileAsset(str(path)) for relative, path in code_files(code_dir)}),
                content_type="application/zip",
                server_side_encryption="aws:kms",
                kms_key_id=account.kms_key_arn,
                # Kept when the code changes: a pipeline execution started before carries on with it.
                opts=pulumi.ResourceOptions(parent=artifacts, retain_on_delete=True),
            )
            self.code_uri = pulumi.Output.concat("s3://", artifacts.bucket, "/", code.key)
        self.data_bucket = data.bucket
        self.artifacts_bucket = artifacts.bucket
        self.spec_uri = pulumi.Output.concat("s3://", artifacts.bucket, "/", spec_object.key)
        self.preprocessor_uri = pulumi.Output.concat("s3://", artifacts.bucket, "/", preprocessor.key)
        outputs: dict[str, pulumi.Output[str]] = {
            "data_bucket": self.data_bucket,
            "artifacts_bucket": self.artifacts_bucket,
            "spec_uri": self.spec_uri,
            "preprocessor_uri": self.preprocessor_uri,
        }
        if self.code_uri is not None:
            outputs["code_uri"] = self.code_uri
        self.register_outputs(outputs)

    def _bucket(self, name: str, account: Account, role: str) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(
            name,
            bucket_prefix=account.names.bucket_prefix(role),
            force_destroy=False,
            tags=account.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=bucket)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": account.kms_key_arn},
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=as_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        return bucket
