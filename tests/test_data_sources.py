"""CSV and Parquet sources: Feast reads a CSV source through its mirror, new CSV rows count, and ``mlops data check``.

The platform is written from scratch: a CSV feature source (``activity``, with
a created-timestamp field) and a Parquet label source (``labels``), on a local
environment whose data root each test fills.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlops_dsl.aws.parquet_rows import NotCsvError, csv_object_rows, csv_rows
from mlops_dsl.aws.state import DynamoState
from mlops_dsl.aws.trigger_function import Trigger, handler
from mlops_dsl.cli.main import main
from mlops_dsl.contracts.retraining import RunRequest
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.runtime.features import mirror_folder, open_store, refresh_mirror
from mlops_dsl.runtime.monitors.quality import read_labels
from mlops_dsl.runtime.retraining.service import RetrainingTrigger
from mlops_dsl.runtime.retraining.store import TriggerStore
from mlops_dsl.runtime.source_data import SourceDataError, read_source
from mlops_dsl.spec.problems import SpecError
from tests.helpers.moto import client

SPEC = """
from mlops_dsl import (
    Entity, Environment, Feature, FeatureStore, FeatureView, Gate, Label, LocalTarget, Model, OnNewData, Platform,
    Retraining, Source, Training,
)

platform = Platform(
    name="shop",
    feature_store=FeatureStore(
        project="shop",
        entities=[Entity(name="customer", join_key="customer_id")],
        sources=[
            Source(name="activity", path="raw/activity", format="csv", created_timestamp_field="created_at"),
            Source(name="labels", path="raw/labels", format="parquet"),
        ],
        feature_views=[
            FeatureView(
                name="customer_activity",
                entities=["customer"],
                source="activity",
                ttl="30d",
                features=[
                    Feature(name="sessions", dtype="int64"),
                    Feature(name="spend", dtype="float64"),
                    Feature(name="plan", dtype="string"),
                ],
            )
        ],
    ),
    models=[
        Model(
            name="churn",
            task="classification",
            features=["customer_activity:sessions", "customer_activity:spend"],
            label=Label(source="labels", column="churned"),
            training=Training(estimator="sklearn.linear_model.LogisticRegression", gate=Gate(metric="roc_auc", threshold=0.5)),
            retraining=Retraining(triggers=[OnNewData(source="activity", min_new_rows=3)]),
        )
    ],
    environments={"dev": Environment(target=LocalTarget(state_dir="state"))},
)
"""

HEADER = "customer_id,event_timestamp,created_at,sessions,spend,plan\n"
ACTIVITY = {
    "part-1.csv": HEADER
    + "1,2026-01-01T00:00:00Z,2026-01-01T00:05:00Z,3,10.5,basic\n2,2026-01-01T00:00:00+00:00,2026-01-01T00:05:00Z,5,20.0,pro\n",
    # 01:00 at +01:00 is midnight UTC; an empty float is a missing value, which a feature may have.
    "part-2.csv": HEADER
    + "1,2026-01-05T01:00:00+01:00,2026-01-05T00:05:00Z,7,11.5,basic\n2,2026-01-04T00:00:00Z,2026-01-04T00:05:00Z,6,,pro\n",
}
LABEL_ROWS = {
    "customer_id": [1, 1, 2, 2],
    "event_timestamp": ["2026-01-02T00:00:00Z", "2026-01-06T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"],
    "churned": [0, 1, 0, 1],
}


def labels_frame(**changes: Any) -> pd.DataFrame:
    frame = pd.DataFrame(LABEL_ROWS).assign(event_timestamp=lambda f: pd.to_datetime(f["event_timestamp"], utc=True))
    return frame.assign(**changes)


class Project:
    """The spec file, its resolved dev environment, and a data root with good data in both sources."""

    def __init__(self, root: Path, spec_text: str = SPEC) -> None:
        self.spec_file = root / "shop.py"
        self.spec_file.write_text(spec_text)
        self.spec: ResolvedSpec = load_platform(self.spec_file, environment="dev")["dev"]
        self.store = self.spec.platform.feature_store
        self.data = root / "data"
        self.activity = self.data / "raw" / "activity"
        self.labels = self.data / "raw" / "labels"
        self.activity.mkdir(parents=True)
        self.labels.mkdir(parents=True)
        for name, text in ACTIVITY.items():
            (self.activity / name).write_text(text)
        labels_frame().to_parquet(self.labels / "part-1.parquet", index=False)

    def source(self, name: str) -> Any:
        return next(s for s in self.store.sources if s.name == name)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.activity / name
        text = path.read_text()
        assert old in text, (old, text)
        path.write_text(text.replace(old, new))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


# --- Feast over a CSV source ---------------------------------------------------------------------------------


def test_feast_joins_a_csv_source_point_in_time_with_utc_times(project: Project, tmp_path: Path) -> None:
    store = open_store(project.store, tmp_path / "feast", project.data)
    labels = read_source(project.store, project.source("labels"), project.data)
    frame = store.get_historical_features(entity_df=labels, features=["customer_activity:sessions", "customer_activity:spend"]).to_df()
    frame = frame.sort_values(["customer_id", "event_timestamp"]).reset_index(drop=True)

    assert str(frame["event_timestamp"].dtype) == "datetime64[ns, UTC]"
    # Each label gets the latest feature row at or before its time: a row stamped at the label's
    # own time (customer 2 on 01-04) counts, and +01:00 was read as the UTC time it is.
    assert frame["sessions"].tolist() == [3, 7, 5, 6]
    assert frame["spend"].tolist()[:3] == [10.5, 11.5, 20.0] and pd.isna(frame["spend"].iloc[3])
    mirror = pq.read_schema(mirror_folder(project.source("activity"), project.data) / "data.parquet")
    assert {name: str(mirror.field(name).type) for name in mirror.names} == {
        "customer_id": "int64",
        "event_timestamp": "timestamp[ns, tz=UTC]",
        "created_at": "timestamp[ns, tz=UTC]",
        "sessions": "int64",
        "spend": "double",
        "plan": "string",
    }


def test_the_mirror_is_rebuilt_when_a_csv_file_is_added_or_changed_and_not_otherwise(project: Project) -> None:
    source = project.source("activity")
    mirror = mirror_folder(source, project.data) / "data.parquet"

    def rows() -> int:
        return pq.ParquetFile(mirror).metadata.num_rows

    assert refresh_mirror(project.store, source, project.data) is True and rows() == 4
    written = mirror.stat().st_mtime_ns
    assert refresh_mirror(project.store, source, project.data) is False
    assert mirror.stat().st_mtime_ns == written
    (project.activity / "part-3.csv").write_text(HEADER + "3,2026-01-07T00:00:00Z,2026-01-07T00:00:00Z,1,1.0,basic\n")
    assert refresh_mirror(project.store, source, project.data) is True and rows() == 5
    project.edit("part-3.csv", "basic\n", "basic\n4,2026-01-07T00:00:00Z,2026-01-07T00:00:00Z,2,2.0,pro\n")
    assert refresh_mirror(project.store, source, project.data) is True and rows() == 6
    (project.activity / "part-3.csv").unlink()
    assert refresh_mirror(project.store, source, project.data) is True and rows() == 4
    (project.activity / ".part-4.csv").write_text("still being written")  # hidden: not the source's yet
    assert refresh_mirror(project.store, source, project.data) is False
    assert [p.name for p in mirror.parent.iterdir()] == ["data.parquet"]


def test_a_csv_value_that_does_not_fit_stops_the_store_with_one_line_and_keeps_the_mirror(project: Project, tmp_path: Path) -> None:
    source = project.source("activity")
    refresh_mirror(project.store, source, project.data)
    project.edit("part-2.csv", ",6,,pro", ",six,,pro")
    with pytest.raises(SpecError) as raised:
        open_store(project.store, tmp_path / "feast", project.data)
    assert [p.render() for p in raised.value.problems] == [
        f"{project.activity}/part-2.csv: activity.sessions: 1 value(s) do not fit int64, first 'six' (line 3); allowed: whole numbers"
    ]
    assert pq.ParquetFile(mirror_folder(source, project.data) / "data.parquet").metadata.num_rows == 4


def test_labels_from_a_csv_source_are_read_with_utc_times_by_the_quality_monitor(tmp_path: Path) -> None:
    project = Project(tmp_path, SPEC.replace('path="raw/labels", format="parquet"', 'path="raw/labels", format="csv"'))
    (project.labels / "part-1.parquet").unlink()
    (project.labels / "part-1.csv").write_text(
        "customer_id,event_timestamp,churned\n1,2026-01-02T01:00:00+01:00,0\n2,2026-01-03T00:00:00Z,1\n"
    )
    labels = read_labels(project.spec.platform, project.spec.platform.model("churn"), project.data)
    assert labels["label_time"].tolist() == [datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)]
    assert labels["customer_id"].tolist() == ["1", "2"] and labels["label_value"].tolist() == [0, 1]
    source = project.source("labels")
    frame = read_source(project.store, source, project.data)
    assert str(frame["event_timestamp"].dtype) == "datetime64[ns, UTC]" and str(frame["customer_id"].dtype) == "int64"
    (project.labels / "part-2.csv").write_text("customer_id,event_timestamp,churned\nx,2026-01-03T00:00:00Z,1\n")
    with pytest.raises(SourceDataError) as raised:
        read_source(project.store, source, project.data)
    assert [p.render() for p in raised.value.problems] == [
        f"{project.labels}/part-2.csv: labels.customer_id: 1 value(s) do not fit int64, first 'x' (line 2); allowed: whole numbers"
    ]


# --- new rows of CSV files -------------------------------------------------------------------------------------


class Backend:
    def __init__(self) -> None:
        self.started: list[RunRequest] = []

    def start(self, request: RunRequest) -> str:
        self.started.append(request)
        return f"run-{len(self.started)}"

    def status(self, run_id: str, reference: str) -> Any:
        return None

    def active(self, model: str) -> int | None:
        return len(self.started)


def test_new_csv_files_under_a_source_count_their_rows(project: Project, tmp_path: Path) -> None:
    backend = Backend()
    trigger = RetrainingTrigger(project.spec.platform, TriggerStore(tmp_path / "trigger.db"), backend, data_root=project.data)
    assert trigger.check_new_data() == []  # what is there at start is not new
    (project.activity / "part-3.csv").write_text(HEADER + "3,2026-01-07T00:00:00Z,,1,1.0,basic\n\n4,2026-01-07T00:00:00Z,,1,1.0,basic\n")
    assert trigger.check_new_data() == []  # 2 rows (the blank line is none), fewer than min_new_rows 3
    (project.activity / "part-4.csv").write_text(HEADER + '5,2026-01-08T00:00:00Z,,1,1.0,"two\nlines"\n')
    [decision] = trigger.check_new_data()
    assert decision["kind"] == "started" and decision["trigger"] == "new_data:activity"
    assert [request.model for request in backend.started] == ["churn"]
    assert "3 new rows in 2 file(s)" in backend.started[0].reason


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (b"", 0),
        (b"customer_id,churned\n", 0),
        (b"customer_id,churned\n1,0\n2,1", 2),
        (b"customer_id,churned\r\n1,0\r\n\r\n2,1\r\n", 2),
        (b'customer_id,note\n1,"a ""quoted"" note\nover two lines"\n2,x\n', 2),
        ("customer_id,name\n1,Jürgen\n".encode() + b"2,\xff\n", 2),  # not all UTF-8: still counted
    ],
)
def test_csv_rows_are_records_less_the_header(text: bytes, rows: int) -> None:
    assert csv_rows(io.BytesIO(text)) == rows


def test_a_csv_field_longer_than_the_reader_allows_is_refused() -> None:
    with pytest.raises(NotCsvError, match="not CSV"):
        csv_rows(io.BytesIO(b'a\n"' + b"x" * 200_000 + b'"\n'))


def bucket(endpoint: str, name: str) -> Any:
    s3 = client("s3", endpoint)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return s3


def test_csv_rows_are_streamed_from_s3_up_to_a_cap(endpoint: str) -> None:
    s3 = bucket(endpoint, "csv-rows")
    body = "customer_id,churned\n" + "".join(f"{i},{i % 2}\n" for i in range(10_000))
    s3.put_object(Bucket="csv-rows", Key="raw/labels/part-1.csv", Body=body.encode())
    s3.put_object(Bucket="csv-rows", Key="raw/labels/empty.csv", Body=b"")
    assert csv_object_rows(s3, "csv-rows", "raw/labels/part-1.csv") == (10_000, True)
    assert csv_object_rows(s3, "csv-rows", "raw/labels/empty.csv") == (0, True)
    # Capped, the count is of the whole records in the bytes read: a lower bound.
    rows, whole = csv_object_rows(s3, "csv-rows", "raw/labels/part-1.csv", max_bytes=1000)
    assert not whole and rows == sum(1 for line in body.encode()[:1000].split(b"\n")[1:-1])


def test_the_trigger_function_counts_new_csv_objects_rows(endpoint: str) -> None:
    s3 = bucket(endpoint, "shop-prod-data")
    dynamodb = client("dynamodb", endpoint)
    dynamodb.create_table(
        TableName="trigger-csv",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = boto3.resource(
        "dynamodb", endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    ).Table("trigger-csv")
    config: Any = {
        "models": {
            "churn": {
                "pipeline": "shop-prod-churn",
                "cooldown_seconds": 3600,
                "dedup_seconds": 60,
                "max_concurrent_runs": 1,
                "min_new_rows": {"labels": 500},
            }
        },
        "alarms": {},
        "sources": [{"bucket": "shop-prod-data", "prefix": "raw/labels/", "source": "labels", "models": ["churn"]}],
    }

    def upload(name: str, rows: int) -> dict[str, Any]:
        body = "customer_id,event_timestamp,churned\n" + "".join(f'{i},2026-01-01T00:00:00Z,"{i % 2}"\n' for i in range(rows))
        s3.put_object(Bucket="shop-prod-data", Key=f"raw/labels/{name}", Body=body.encode())
        return {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "time": "2026-11-24T12:00:00Z",
            "detail": {"bucket": {"name": "shop-prod-data"}, "object": {"key": f"raw/labels/{name}"}},
        }

    def decide(event: dict[str, Any]) -> dict[str, Any]:
        trigger = Trigger(config, DynamoState(table), client("sagemaker", endpoint), client("s3", endpoint))
        result = handler(event, trigger=trigger)
        assert result["status"] == "decided", result
        [decision] = result["decisions"]
        return dict(decision)

    first = decide(upload("part-1.csv", 300))
    assert (first["action"], first["kind"], first["reason"]) == ("skip", "waiting", "300 new rows of the 500 the trigger needs")
    second = decide(upload("part-2.csv", 150))
    assert second["reason"] == "450 new rows of the 500 the trigger needs"


# --- mlops data check --------------------------------------------------------------------------------------------


def run_check(project: Project, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], list[str]]:
    code = main(["data", "check", str(project.spec_file), "--data-dir", str(project.data), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out.splitlines(), err.splitlines()


def test_good_data_passes_with_a_line_per_source(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_check(project, capsys)
    assert (code, err) == (0, [])
    assert out == [
        f"activity (csv): 2 files, 4 rows in {project.activity}",
        f"labels (parquet): 1 file, 4 rows in {project.labels}",
        f"data check passed: 2 sources, 3 files, 8 rows under {project.data}; no problems",
    ]


def test_the_data_dir_defaults_to_a_local_environments_state(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.spec_file.parent)  # a relative state_dir is where mlops runs, as for `mlops up`
    assert main(["data", "check", str(project.spec_file)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "mlops data check: --data-dir: state/shop-dev/data does not exist (run `mlops up`, or give --data-dir for a state "
        "directory elsewhere); got None; allowed: the folder that holds the sources' files, under their spec paths"
    ]
    shutil.copytree(project.data, Path("state") / "shop-dev" / "data")
    assert main(["data", "check", str(project.spec_file)]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == "data check passed: 2 sources, 3 files, 8 rows under state/shop-dev/data; no problems"
    )


def _drop_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.drop(columns=[column])


def parquet_labels(frame: pd.DataFrame) -> Callable[[Project], None]:
    def write(project: Project) -> None:
        frame.to_parquet(project.labels / "part-1.parquet", index=False)

    return write


def edit(name: str, old: str, new: str) -> Callable[[Project], None]:
    return lambda project: project.edit(name, old, new)


def remove_activity(project: Project) -> None:
    for path in project.activity.glob("*.csv"):
        path.unlink()


def activity_as_parquet(project: Project) -> None:
    for path in project.activity.glob("*.csv"):
        pd.read_csv(path).to_parquet(path.with_suffix(".parquet"))
        path.unlink()


def write_bytes(where: str, content: bytes) -> Callable[[Project], None]:
    def write(project: Project) -> None:
        (project.data / where).write_bytes(content)

    return write


TIMES = "allowed: ISO 8601 times with a UTC offset, such as 2026-01-31T09:30:00Z or 2026-01-31 09:30:00+00:00"
BAD_DATA = {
    "no files of the source's format": (
        remove_activity,
        "{activity}: activity: got no *.csv files in this folder; allowed: one or more *.csv files (the source's format)",
    ),
    "files of the other format": (
        activity_as_parquet,
        "{activity}: activity: got no *.csv files in this folder; allowed: one or more *.csv files (the source's format); "
        "it holds 2 *.parquet file(s): set format='parquet' on the source, or convert them",
    ),
    "a CSV file that is not text": (
        write_bytes("raw/activity/part-2.csv", b"\xff\xfe\x00garbage"),
        "{activity}/part-2.csv: activity: the file cannot be read ('utf-8' codec can't decode byte 0xff in position 0: "
        "invalid start byte); allowed: a CSV file with a header row",
    ),
    "a CSV row longer than its header": (
        edit("part-1.csv", ",basic\n", ",basic,extra\n"),
        "{activity}/part-1.csv: activity: the file cannot be read (a row has more fields than the header); "
        "allowed: a CSV file with a header row",
    ),
    "a Parquet file that is not Parquet": (
        write_bytes("raw/labels/part-1.parquet", b"customer_id,churned\n1,0\n"),
        "{labels}/part-1.parquet: labels: the file cannot be read (Parquet magic bytes not found in footer. Either the file is "
        "corrupted or this is not a parquet file.); allowed: a Parquet file",
    ),
    "a feature column missing": (
        edit("part-2.csv", ",plan\n", ",tier\n"),
        "{activity}/part-2.csv: activity.plan: the column is missing; "
        "allowed: a column 'plan', a feature of view customer_activity (string)",
    ),
    "the created-timestamp column missing": (
        edit("part-1.csv", "created_at,", "created,"),
        "{activity}/part-1.csv: activity.created_at: the column is missing; "
        "allowed: a column 'created_at', the created-timestamp field (a timezone-aware time)",
    ),
    "the label column missing": (
        parquet_labels(_drop_column(labels_frame(), "churned")),
        "{labels}/part-1.parquet: labels.churned: the column is missing; allowed: a column 'churned', the label of model churn",
    ),
    "the label source's join key missing": (
        parquet_labels(_drop_column(labels_frame(), "customer_id")),
        "{labels}/part-1.parquet: labels.customer_id: the column is missing; "
        "allowed: a column 'customer_id', the join key of entity customer (int64), for model churn",
    ),
    "CSV times without an offset": (
        edit("part-2.csv", "2026-01-04T00:00:00Z,2026", "2026-01-04 00:00:00,2026"),
        "{activity}/part-2.csv: activity.event_timestamp: 1 value(s) without a UTC offset, first '2026-01-04 00:00:00' (line 3); " + TIMES,
    ),
    "CSV times that do not parse": (
        edit("part-1.csv", "2026-01-01T00:00:00Z,2026-01-01T00:05:00Z,3", "yesterday,2026-01-01T00:05:00Z,3"),
        "{activity}/part-1.csv: activity.event_timestamp: 1 value(s) are not times, first 'yesterday' (line 2); " + TIMES,
    ),
    "a naive Parquet timestamp": (
        parquet_labels(labels_frame(event_timestamp=labels_frame()["event_timestamp"].dt.tz_localize(None))),
        "{labels}/part-1.parquet: labels.event_timestamp: got timestamp[ns] without a time zone; "
        "allowed: a timezone-aware timestamp (such as timestamp[us, tz=UTC])",
    ),
    "a Parquet time stored as text": (
        parquet_labels(labels_frame(event_timestamp=LABEL_ROWS["event_timestamp"])),
        "{labels}/part-1.parquet: labels.event_timestamp: got string values; "
        "allowed: a timestamp column with a time zone (such as timestamp[us, tz=UTC])",
    ),
    "a CSV value that does not fit its feature's type": (
        edit("part-1.csv", ",3,10.5,", ",3.5,10.5,"),
        "{activity}/part-1.csv: activity.sessions: 1 value(s) do not fit int64, first '3.5' (line 2); allowed: whole numbers",
    ),
    "a Parquet key of the wrong type": (
        parquet_labels(labels_frame(customer_id=["1", "1", "2", "2"])),
        "{labels}/part-1.parquet: labels.customer_id: got string values; allowed: int64 (whole numbers)",
    ),
    "an empty CSV join key": (
        edit("part-2.csv", "\n2,2026-01-04", "\n,2026-01-04"),
        "{activity}/part-2.csv: activity.customer_id: 1 empty value(s), first on line 3; "
        "allowed: a value in every row of the join key of entity customer (int64)",
    ),
    "an empty Parquet timestamp": (
        parquet_labels(labels_frame(event_timestamp=labels_frame()["event_timestamp"].where(lambda s: s.index != 2))),
        "{labels}/part-1.parquet: labels.event_timestamp: 1 empty value(s), first on row 3; "
        "allowed: a value in every row of the timestamp field (a timezone-aware time)",
    ),
    "every label before its entity's features": (
        parquet_labels(labels_frame(event_timestamp=pd.Timestamp("2025-12-31", tz="UTC"))),
        "{labels}: labels: 4 of 4 label row(s) of model churn are stamped before the earliest feature row of their entity "
        "in view(s) customer_activity, so a point-in-time join gives them no features; "
        "allowed: labels stamped at or after the features they are joined with",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_each_kind_of_bad_data_is_one_line_and_exit_2(case: str, project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    change, line = BAD_DATA[case]
    change(project)
    code, out, err = run_check(project, capsys)
    assert code == 2, out
    assert err == [line.format(activity=project.activity, labels=project.labels)]
    assert [row.partition(":")[0] for row in out] == ["activity (csv)", "labels (parquet)"]


def test_some_labels_before_the_features_are_a_warning(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    early = labels_frame()["event_timestamp"].where(lambda s: s.index != 0, pd.Timestamp("2025-12-31", tz="UTC"))
    labels_frame(event_timestamp=early).to_parquet(project.labels / "part-1.parquet", index=False)
    code, out, err = run_check(project, capsys)
    assert (code, err) == (0, [])
    assert out[2:] == [
        f"warning: {project.labels}: labels: 1 of 4 label row(s) of model churn are stamped before the earliest feature row of their "
        "entity in view(s) customer_activity, so a point-in-time join gives them no features; "
        "allowed: labels stamped at or after the features they are joined with",
        f"data check passed: 2 sources, 3 files, 8 rows under {project.data}; no problems (1 warning)",
    ]


def test_an_environment_without_local_data_needs_a_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = SPEC.replace(
        'environments={"dev": Environment(target=LocalTarget(state_dir="state"))}',
        'environments={"dev": Environment(target=LocalTarget(state_dir="state")), '
        '"prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m:1"})'
        "}",
    ).replace("Entity, Environment,", "AwsTarget, Entity, Environment,")
    project = Project(tmp_path, spec)
    code = main(["data", "check", str(project.spec_file), "--env", "prod"])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "mlops data check: --data-dir: environment prod targets aws, whose data is not on this machine; got None; "
        "allowed: the folder that holds the sources' files, under their spec paths"
    ]
    assert main(["data", "check", str(project.spec_file), "--env", "prod", "--data-dir", str(project.data)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("; no problems")


def test_mlops_up_finds_csv_files_and_names_the_format_it_looked_for(project: Project, tmp_path: Path) -> None:
    from mlops_dsl.local.up import resolve, seed_data

    state = tmp_path / "state"
    shutil.copytree(project.data, state / "data")
    local = resolve(str(project.spec_file), "dev", str(state))
    said: list[str] = []
    seed_data(local, said.append)
    assert said == [f"found data for 2 sources under {state / 'data'}"]
    for path in (state / "data" / "raw" / "activity").glob("*.csv"):
        path.unlink()
    with pytest.raises(SpecError) as raised:
        seed_data(local, said.append)
    assert [p.render() for p in raised.value.problems] == [
        f"mlops up: data: no files for source(s) activity (*.csv in {state / 'data' / 'raw' / 'activity'}), and no data.py beside "
        "the spec to generate them (see README, Getting your data in; `mlops data check` checks a data folder)"
    ]
