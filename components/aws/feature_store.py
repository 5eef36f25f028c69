"""The feature store on AWS: a SageMaker Feature Store feature group per feature view.

A view served online gets an online store; every view has an offline store in
the data bucket, catalogued in Glue, all encrypted with the platform's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement

FEATURE_TYPES = {
    "int32": "Integral",
    "int64": "Integral",
    "bool": "Integral",
    "unix_timestamp": "Integral",
    "float32": "Fractional",
    "float64": "Fractional",
    "string": "String",
}


@dataclass(frozen=True)
class FeatureStoreArgs:
    """Inputs of :class:`FeatureStore`."""

    account: Account
    data_bucket: pulumi.Input[str]


class FeatureStore(pulumi.ComponentResource):
    """SageMaker Feature Store feature groups, generated from the spec's feature views."""

    feature_groups: pulumi.Output[dict[str, str]]
    """Feature group names by feature view."""
    offline_store_uri: pulumi.Output[str]
    """Where the offline store keeps its records."""

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:FeatureStore", name, {}, opts)
        account = args.account
        store = account.spec.platform.feature_store
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", args.data_bucket)
        groups = {view.name: account.names.feature_group(view.name) for view in store.feature_views}
        database = "sagemaker_featurestore"
        role = account.role(
            f"{name}-role",
            "sagemaker.amazonaws.com",
            [
                statement(
                    ["s3:PutObject", "s3:GetObject", "s3:GetBucketAcl"], [bucket_arn, pulumi.Output.concat(bucket_arn, "/feature-store/*")]
                ),
                statement(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [account.kms_key_arn]),
                statement(
                    ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:GetDatabase", "glue:CreateDatabase"],
                    [
                        account.arn("glue", "catalog"),
                        account.arn("glue", f"database/{database}"),
                        *[account.arn("glue", f"table/{database}/{group.replace('-', '_')}*") for group in groups.values()],
                    ],
                ),
            ],
            parent=self,
        )
        keys = {e.name: e for e in store.entities}
        sources = {s.name: s for s in store.sources}
        offline_uri = pulumi.Output.concat("s3://", args.data_bucket, "/feature-store")
        for view in store.feature_views:
            if len(view.entities) != 1:
                raise ValueError(
                    f"feature view {view.name}: a SageMaker feature group has one record identifier; "
                    f"the view has {len(view.entities)} entities"
                )
            entity = keys[view.entities[0]]
            event_time = sources[view.source].timestamp_field
            definitions = [
                {"feature_name": entity.join_key, "feature_type": "Integral" if entity.value_type == "int64" else "String"},
                {"feature_name": event_time, "feature_type": "String"},
                *[{"feature_name": f.name, "feature_type": FEATURE_TYPES[f.dtype]} for f in view.features],
            ]
            online = {"enable_online_store": True, "security_config": {"kms_key_id": account.kms_key_arn}} if view.online else None
            if online is not None and store.online_store.aws.kind == "sagemaker" and store.online_store.aws.ttl is not None:
                online["ttl_duration"] = {"unit": "Seconds", "value": int(store.online_store.aws.ttl.total_seconds())}
            aws.sagemaker.FeatureGroup(
                f"{name}-{view.name}",
                feature_group_name=groups[view.name],
                record_identifier_feature_name=entity.join_key,
                event_time_feature_name=event_time,
                feature_definitions=definitions,
                online_store_config=online,
                offline_store_config={
                    "s3_storage_config": {"s3_uri": offline_uri, "kms_key_id": account.kms_key_arn},
                    "data_catalog_config": {
                        "catalog": "AwsDataCatalog",
                        "database": database,
                        "table_name": groups[view.name].replace("-", "_"),
                    },
                    "table_format": store.offline_store.aws.table_format,
                },
                role_arn=role.arn,
                description=view.description or f"Feature view {view.name}",
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.feature_groups = pulumi.Output.from_input(groups)
        self.offline_store_uri = offline_uri
        self.register_outputs({"feature_groups": self.feature_groups, "offline_store_uri": self.offline_store_uri})
