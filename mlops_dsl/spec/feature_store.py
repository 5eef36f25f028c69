"""The shared feature store: entities, sources, feature views and the stores behind them.

The shape follows Feast, which realizes it on the local and Kubernetes targets:
an entity has a join key, a feature view reads typed features for its entities
from a source and keeps them for a TTL, and a view served online is
materialized into the online store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from mlops_dsl.spec.base import Cron, Duration, Identifier, KubernetesName, MemoryQuantity, SpecModel

FeatureType = Literal["int32", "int64", "float32", "float64", "string", "bool", "unix_timestamp"]
"""The value types a feature may have (Feast's primitive types)."""


def column_of(ref: str) -> str:
    """The column a feature reference names: 'view:feature' is column 'feature'."""
    return ref.partition(":")[2] or ref


class Entity(SpecModel):
    """A thing features describe, such as a customer, keyed by one join key column."""

    name: Identifier
    join_key: Identifier
    value_type: Literal["int64", "string"] = "int64"
    description: str = ""


class Source(SpecModel):
    """Where raw rows for feature views (or ground-truth labels) arrive.

    ``path`` is relative to the target's data root (the state directory locally,
    the offline store's bucket or volume on Kubernetes, the platform's data
    bucket on AWS) unless it is an absolute ``s3://`` URI. New files under it
    are what a ``NewData`` retraining trigger watches.
    """

    name: Identifier
    path: str = Field(min_length=1)
    format: Literal["parquet", "csv"] = "parquet"
    timestamp_field: Identifier = "event_timestamp"
    created_timestamp_field: Identifier | None = None
    description: str = ""


class Feature(SpecModel):
    """One typed column of a feature view."""

    name: Identifier
    dtype: FeatureType
    description: str = ""


class FeatureView(SpecModel):
    """A group of features for some entities, read from one source."""

    name: Identifier
    entities: list[Identifier] = Field(min_length=1)
    features: list[Feature] = Field(min_length=1)
    source: Identifier
    ttl: Duration = timedelta(days=1)
    online: StrictBool = True
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""


# --- store choices, one per target -------------------------------------------


class FileOfflineStore(SpecModel):
    """Parquet files on a local disk or, on Kubernetes, a shared volume (Feast's file offline store).

    ``volume_size`` and ``storage_class`` size the Kubernetes volume, which
    several pods mount at once (ReadWriteMany).
    """

    kind: Literal["file"] = "file"
    volume_size: MemoryQuantity = "20Gi"
    storage_class: KubernetesName | None = None


class SageMakerOfflineStore(SpecModel):
    """SageMaker Feature Store's offline store: S3 with a Glue data catalog."""

    kind: Literal["sagemaker"] = "sagemaker"
    table_format: Literal["Glue", "Iceberg"] = "Glue"


class SqliteOnlineStore(SpecModel):
    """A SQLite file, for the local target."""

    kind: Literal["sqlite"] = "sqlite"


class RedisOnlineStore(SpecModel):
    """Redis, run in the cluster by the Kubernetes target."""

    kind: Literal["redis"] = "redis"
    memory: MemoryQuantity = "1Gi"
    persistence: StrictBool = True


class SageMakerOnlineStore(SpecModel):
    """SageMaker Feature Store's online store."""

    kind: Literal["sagemaker"] = "sagemaker"
    ttl: Duration | None = None


class DynamoDBOnlineStore(SpecModel):
    """DynamoDB tables (Feast's AWS online store)."""

    kind: Literal["dynamodb"] = "dynamodb"


AwsOnlineStore = Annotated[SageMakerOnlineStore | DynamoDBOnlineStore, Field(discriminator="kind")]


class OfflineStores(SpecModel):
    """The offline (historical) store each target uses."""

    local: FileOfflineStore = Field(default_factory=FileOfflineStore)
    kubernetes: FileOfflineStore = Field(default_factory=FileOfflineStore)
    aws: SageMakerOfflineStore = Field(default_factory=SageMakerOfflineStore)


class OnlineStores(SpecModel):
    """The online (low-latency) store each target uses."""

    local: SqliteOnlineStore = Field(default_factory=SqliteOnlineStore)
    kubernetes: RedisOnlineStore = Field(default_factory=RedisOnlineStore)
    aws: AwsOnlineStore = Field(default_factory=SageMakerOnlineStore)


class Materialization(SpecModel):
    """How often online views are copied from the offline store to the online store."""

    schedule: Cron = "*/30 * * * *"


class FeatureStore(SpecModel):
    """The one feature store that every model of a platform shares."""

    project: Identifier
    entities: list[Entity] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    feature_views: list[FeatureView] = Field(min_length=1)
    offline_store: OfflineStores = Field(default_factory=OfflineStores)
    online_store: OnlineStores = Field(default_factory=OnlineStores)
    materialization: Materialization = Field(default_factory=Materialization)

    def view(self, name: str) -> FeatureView | None:
        """The feature view with this name, if there is one."""
        return next((v for v in self.feature_views if v.name == name), None)


__all__ = [
    "DynamoDBOnlineStore",
    "Entity",
    "Feature",
    "FeatureStore",
    "FeatureType",
    "FeatureView",
    "FileOfflineStore",
    "Materialization",
    "OfflineStores",
    "OnlineStores",
    "RedisOnlineStore",
    "SageMakerOfflineStore",
    "SageMakerOnlineStore",
    "Source",
    "SqliteOnlineStore",
]
