"""The spec's feature store as Feast objects, and a Feast store for a target.

Feast realizes the feature store on the local and Kubernetes targets: entities
with join keys, file sources, feature views with typed fields and TTLs. The
trainer reads point-in-time correct training sets from it, and materialization
copies online views into the online store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Importing Feast points prometheus_client at a temporary multiprocess directory through the
# environment, which every process started afterwards (the model server, the monitor) would
# inherit and fail on once Feast removes it. Keep the environment as it was, and have
# prometheus_client choose its value class (read once, at its import) from the real environment
# first, so metrics made in this process later do not look for that directory either.
import prometheus_client  # noqa: F401
from google.protobuf.message import DecodeError

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.runtime.state import source_path
from mlops_dsl.spec.feature_store import FeatureStore as FeatureStoreSpec
from mlops_dsl.spec.problems import Problem, SpecError

_PROMETHEUS_ENV = {name: os.environ.get(name) for name in ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR")}
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType  # noqa: E402
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto  # noqa: E402
from feast.repo_config import RepoConfig  # noqa: E402
from feast.types import Bool, Float32, Float64, Int32, Int64, String, UnixTimestamp  # noqa: E402

for _name, _value in _PROMETHEUS_ENV.items():
    if _value is None:
        os.environ.pop(_name, None)


FEAST_TYPES = {
    "int32": Int32,
    "int64": Int64,
    "float32": Float32,
    "float64": Float64,
    "string": String,
    "bool": Bool,
    "unix_timestamp": UnixTimestamp,
}
ENTITY_TYPES = {"int64": ValueType.INT64, "string": ValueType.STRING}


def feast_objects(spec: FeatureStoreSpec, data_root: Path | str) -> list[Any]:
    """Feast entities and feature views for the spec's feature store."""
    entities = {
        e.name: Entity(name=e.name, join_keys=[e.join_key], value_type=ENTITY_TYPES[e.value_type], description=e.description)
        for e in spec.entities
    }
    sources = {
        s.name: FileSource(
            name=s.name,
            path=source_path(s, data_root),
            timestamp_field=s.timestamp_field,
            created_timestamp_column=s.created_timestamp_field or "",
            description=s.description,
        )
        for s in spec.sources
    }
    views = [
        FeatureView(
            name=v.name,
            entities=[entities[name] for name in v.entities],
            ttl=v.ttl,
            schema=[Field(name=f.name, dtype=FEAST_TYPES[f.dtype], description=f.description) for f in v.features],
            source=sources[v.source],
            online=v.online,
            tags=v.tags,
            description=v.description,
        )
        for v in spec.feature_views
    ]
    return [*entities.values(), *views]


def repo_config(spec: FeatureStoreSpec, repo_dir: Path, *, online: dict[str, Any] | None = None) -> RepoConfig:
    """Feast's configuration: a file offline store and a registry in ``repo_dir``.

    ``online`` is the online store's config; SQLite in ``repo_dir`` by default
    (one machine). On Kubernetes it is the platform's Redis.
    """
    return RepoConfig(
        project=spec.project,
        provider="local",
        registry=str(repo_dir / "registry.db"),
        offline_store={"type": "file"},
        online_store=online or {"type": "sqlite", "path": str(repo_dir / "online.db")},
        entity_key_serialization_version=3,
        repo_path=str(repo_dir),
    )


def check_registry(repo_dir: Path) -> None:
    """Refuse a Feast registry file that does not parse, naming it; the file is left as it is.

    Feast would fail on it deep inside ``apply`` with a bare protobuf ``DecodeError``.
    """
    path = repo_dir / "registry.db"
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return  # Feast makes a new one
    except OSError as error:
        raise SpecError([Problem("", f"the Feast registry cannot be read ({error.strerror})", source=str(path))]) from None
    try:
        RegistryProto().ParseFromString(content)
    except DecodeError:
        message = "the Feast registry is corrupt (not a Feast registry file); move it aside to start afresh (nothing was changed)"
        raise SpecError([Problem("", message, source=str(path))]) from None


def open_store(spec: FeatureStoreSpec, repo_dir: Path, data_root: Path, *, online: dict[str, Any] | None = None) -> FeatureStore:
    """A Feast store with the spec's entities and views applied (idempotent)."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    check_registry(repo_dir)
    store = FeatureStore(config=repo_config(spec, repo_dir, online=online))
    store.apply(feast_objects(spec, data_root))
    return store


def local_store(spec: FeatureStoreSpec, repo_dir: Path, data_root: Path) -> FeatureStore:
    """A Feast store on one machine: file offline store, SQLite online store."""
    return open_store(spec, repo_dir, data_root)


def redis_online_store(platform_name: str) -> dict[str, Any]:
    """The Kubernetes target's online store: the platform's Redis Service in the same namespace."""
    return {"type": "redis", "connection_string": f"{platform_name}-redis:6379"}


def store_for(spec: ResolvedSpec, repo_dir: Path, data_root: Path) -> FeatureStore:
    """The Feast store of a resolved platform: SQLite online store locally, the platform's Redis on Kubernetes."""
    online = redis_online_store(spec.platform.name) if spec.target.kind == "kubernetes" else None
    return open_store(spec.platform.feature_store, repo_dir, data_root, online=online)
