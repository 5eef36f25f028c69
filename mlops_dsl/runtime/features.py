"""The spec's feature store as Feast objects, and a Feast store for a target.

Feast realizes the feature store on the local and Kubernetes targets: entities
with join keys, file sources, feature views with typed fields and TTLs. The
trainer reads point-in-time correct training sets from it, and materialization
copies online views into the online store.

Feast's file offline store reads only Parquet, so a CSV source that a view
reads is mirrored: its files, cast to the spec's types with their times as
UTC, become one Parquet file under ``<data root>/.parquet/<source>/``, which
the Feast source points at. Opening the store rebuilds a mirror (atomically)
when a CSV file was added, changed or removed, and leaves it alone otherwise.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

# Importing Feast points prometheus_client at a temporary multiprocess directory through the
# environment, which every process started afterwards (the model server, the monitor) would
# inherit and fail on once Feast removes it. Keep the environment as it was, and have
# prometheus_client choose its value class (read once, at its import) from the real environment
# first, so metrics made in this process later do not look for that directory either.
import prometheus_client  # noqa: F401
import pyarrow as pa
import pyarrow.parquet as pq
from google.protobuf.message import DecodeError

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.runtime.source_data import SourceDataError, read_csv_source, source_schema
from mlops_dsl.runtime.state import source_files, source_path
from mlops_dsl.spec.feature_store import FeatureStore as FeatureStoreSpec
from mlops_dsl.spec.feature_store import Source
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
MIRROR_FOLDER = ".parquet"
"""Under the data root, the Parquet mirrors of CSV sources (hidden, so no Parquet source's folder takes it in)."""
MIRROR_VERSION = 1
"""Part of a mirror's signature: a change to how mirrors are written rebuilds every one."""
MIRROR_SIGNATURE = b"mlops.mirror.signature"
"""The mirror's Parquet metadata key for what it was built from: the version, the typed columns, each file's name, size and mtime."""


def mirror_folder(source: Source, data_root: Path | str) -> Path:
    """Where a CSV source's Parquet mirror lives."""
    return Path(data_root) / MIRROR_FOLDER / source.name


def offline_path(source: Source, data_root: Path | str) -> str:
    """What Feast reads a source from: a Parquet source's own path, a CSV source's mirror."""
    return str(mirror_folder(source, data_root) / "data.parquet") if source.format == "csv" else source_path(source, data_root)


def refresh_mirror(spec: FeatureStoreSpec, source: Source, data_root: Path | str) -> bool:
    """Rebuild a CSV source's Parquet mirror if its files changed (by name, size and modification time); True if rebuilt.

    The mirror is written beside the old one and renamed over it, so a reader
    (the feature server, a materialization) sees the old file or the new one.
    The files it was built from are in its own metadata, not in a file beside
    it, so two processes rebuilding at once cannot pair one's mirror with the
    other's list. Raises :class:`SpecError` when a file cannot be used as the spec types it.
    """
    if "://" in source.path:
        allowed = "a path on this machine or the shared volume (Feast's file store reads CSV through a local mirror), or format='parquet'"
        raise SpecError([Problem(f"feature_store.sources.{source.name}.path", f"got {source.path!r}; allowed: {allowed}")])
    schema = source_schema(spec, source)
    files = source_files(source, data_root)
    signature = json.dumps(
        {
            "version": MIRROR_VERSION,
            "columns": {name: [column.kind, column.dtype] for name, column in schema.typed().items()},
            "files": [[path.name, stat.st_size, stat.st_mtime_ns] for path in files for stat in [path.stat()]],
        },
        sort_keys=True,
    ).encode()
    mirror = mirror_folder(source, data_root) / "data.parquet"
    try:
        if (pq.read_schema(mirror).metadata or {}).get(MIRROR_SIGNATURE) == signature:
            return False
    except (OSError, pa.ArrowException):
        pass  # no mirror yet, or not one this wrote: rebuild
    try:
        frame = read_csv_source(schema, files)
    except SourceDataError as error:
        raise SpecError(error.problems) from None
    mirror.parent.mkdir(parents=True, exist_ok=True)
    partial = mirror.with_name(f".data-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet")
    try:
        # Without pandas' metadata a reader gets NumPy dtypes (int64, or float64 where a value is missing), as from any Parquet source.
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata({MIRROR_SIGNATURE: signature})
        pq.write_table(table, partial)
        os.replace(partial, mirror)
    except (pa.ArrowException, ValueError, TypeError) as error:  # a column the spec does not type holds mixed values
        message = f"the Parquet mirror cannot be written ({error}); allowed: columns of one type in every CSV file"
        raise SpecError([Problem(source.name, message, source=str(mirror.parent))]) from None
    finally:
        partial.unlink(missing_ok=True)
    return True


def refresh_mirrors(spec: FeatureStoreSpec, data_root: Path | str) -> list[str]:
    """Refresh the mirror of every CSV source a feature view reads; the names of those rebuilt."""
    read = {view.source for view in spec.feature_views}
    return [s.name for s in spec.sources if s.format == "csv" and s.name in read and refresh_mirror(spec, s, data_root)]


def feast_objects(spec: FeatureStoreSpec, data_root: Path | str) -> list[Any]:
    """Feast entities and feature views for the spec's feature store (a CSV source is read from its mirror)."""
    entities = {
        e.name: Entity(name=e.name, join_keys=[e.join_key], value_type=ENTITY_TYPES[e.value_type], description=e.description)
        for e in spec.entities
    }
    sources = {
        s.name: FileSource(
            name=s.name,
            path=offline_path(s, data_root),
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
    """A Feast store with the spec's entities and views applied (idempotent), CSV sources' mirrors up to date."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    check_registry(repo_dir)
    refresh_mirrors(spec, data_root)
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
