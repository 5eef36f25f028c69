"""Prediction traffic for the churn example, and the ground truth that follows it.

This is what production does to the platform, on one machine:

``send``
    New customers arrive; the application asks the model server whether each
    will churn (Open Inference Protocol, one tensor per feature plus the
    ``customer_id`` entity key, which data capture records). Their features
    land in the raw sources, as a production feature pipeline would write
    them. The world then decides who actually churns: that ground truth is
    kept aside, undelivered, as labels are in real life for weeks.
``labels``
    The ground truth arrives: the pending labels become a new part of the
    ``churn_labels`` source. The retraining trigger's new-data rule sees it,
    quality monitoring joins it with the captured predictions, and the next
    training run learns from it.

``--shift`` (0 to 1) moves the customer population (see ``data.py``), which
the drift monitor notices. From the repository root, after ``mlops up``::

    python examples/churn/traffic.py send --seconds 60              # normal traffic
    python examples/churn/traffic.py send --seconds 120 --shift 0.9 # the market changes
    python examples/churn/traffic.py labels                         # their ground truth
    mlops status
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path, and its platform.py would shadow the
# standard library's `platform` module that the imports below use.
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DEFAULT_STATE_DIR = Path(".mlops") / "churn-local"
DEFAULT_SERVER = "http://127.0.0.1:18080"
MODEL = "churn"
KEY = "customer_id"
FIRST_TRAFFIC_CUSTOMER = 1_000_000  # the shipped history uses ids from 1
LABEL_DELAY = timedelta(minutes=1)  # when the outcome is known, after the prediction (compressed from 30 days)


def _data() -> Any:
    """The example's data module, beside this file (importable without installing the example)."""
    spec = importlib.util.spec_from_file_location("churn_example_data", HERE / "data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


data = _data()


class NoPlatformError(Exception):
    """The state directory holds no platform brought up by ``mlops up``."""


@dataclass
class Sent:
    """What one ``send`` did: requests, rows, failures by status, and the versions that answered."""

    requests: int = 0
    rows: int = 0
    failures: Counter[int] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    first_seen: dict[str, float] = field(default_factory=dict)
    """Monotonic time each model version first answered."""

    def line(self) -> str:
        versions = ", ".join(f"v{v}: {n}" for v, n in sorted(self.versions.items()))
        failed = sum(self.failures.values())
        return f"{self.requests} requests, {self.rows} predictions ({versions or 'none'}), {failed} failed"


class Traffic:
    """Sends the example's traffic to a model server and keeps its ground truth for later."""

    def __init__(self, state_dir: Path, server: str, *, seed: int = 7) -> None:
        self.data_root = state_dir / "data"
        self.raw = self.data_root / "raw"
        self.pending = self.data_root / "pending-labels"
        self.server = server.rstrip("/")
        self.rng = np.random.default_rng(seed)
        if not (self.raw / "customer_activity").is_dir():
            raise NoPlatformError(f"no example data under {self.raw}; run `mlops up` first (or pass --state-dir)")

    def _next_customer(self) -> int:
        """The first unused customer id (traffic customers are numbered after every earlier send)."""
        counter = self.data_root / "traffic-next-customer"
        return int(counter.read_text()) if counter.exists() else FIRST_TRAFFIC_CUSTOMER

    def _inputs(self, client: httpx.Client) -> list[str]:
        """The model's input names, from its Open Inference Protocol metadata."""
        answer = client.get(f"/v2/models/{MODEL}")
        answer.raise_for_status()
        return [tensor["name"] for tensor in answer.json()["inputs"]]

    def send(self, seconds: float, *, shift: float = 0.0, batch: int = 25, rate: float = 10.0) -> Sent:
        """Send ``rate`` requests a second of ``batch`` new customers each, for ``seconds``."""
        sent = Sent()
        frames: list[pd.DataFrame] = []
        customer = self._next_customer()
        deadline = time.monotonic() + seconds
        flushed = time.monotonic()
        with httpx.Client(base_url=self.server, timeout=10) as client:
            inputs = self._inputs(client)
            while time.monotonic() < deadline:
                began = time.monotonic()
                rows = data.population(batch, self.rng, shift)
                ids = np.arange(customer, customer + batch, dtype="int64")
                customer += batch
                body = {
                    "id": f"traffic-{ids[0]}",
                    "inputs": [
                        {"name": KEY, "shape": [batch], "datatype": "INT64", "data": ids.tolist()},
                        *(
                            {"name": name, "shape": [batch], "datatype": "FP64", "data": rows[name].astype(float).tolist()}
                            for name in inputs
                        ),
                    ],
                }
                sent.requests += 1
                try:
                    answer = client.post(f"/v2/models/{MODEL}/infer", json=body)
                except httpx.HTTPError:
                    sent.failures[0] += 1
                else:
                    if answer.status_code == 200:
                        version = str(answer.json().get("model_version"))
                        sent.rows += batch
                        sent.versions[version] += 1
                        sent.first_seen.setdefault(version, time.monotonic())
                    else:
                        sent.failures[answer.status_code] += 1
                frames.append(rows.assign(**{KEY: ids, "event_timestamp": pd.Timestamp.now(tz=UTC)}))
                if time.monotonic() - flushed > 5:
                    self._record(frames, customer, shift)
                    frames, flushed = [], time.monotonic()
                time.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))
        self._record(frames, customer, shift)
        return sent

    def _record(self, frames: list[pd.DataFrame], next_customer: int, shift: float) -> None:
        """Write the served customers' features to the raw sources, and their (undelivered) outcomes aside."""
        if not frames:
            return
        frame = pd.concat(frames, ignore_index=True)
        frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).astype("datetime64[ns, UTC]")
        stamp = f"{time.time_ns()}"
        for source, columns in (("customer_activity", data.ACTIVITY), ("billing", data.BILLING)):
            _write(frame[[*columns, KEY, "event_timestamp"]], self.raw / source / f"part-traffic-{stamp}.parquet")
        outcomes = pd.DataFrame(
            {KEY: frame[KEY], "event_timestamp": frame["event_timestamp"] + LABEL_DELAY, "churned": data.labels(frame, self.rng, shift)}
        )
        _write(outcomes, self.pending / f"part-{stamp}.parquet")
        (self.data_root / "traffic-next-customer").write_text(str(next_customer))

    def deliver_labels(self) -> int:
        """Move the pending ground truth into the ``churn_labels`` source as one new part; returns its rows."""
        parts = sorted(self.pending.glob("*.parquet")) if self.pending.is_dir() else []
        if not parts:
            return 0
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True).sort_values("event_timestamp", kind="stable")
        _write(frame, self.raw / "churn_labels" / f"part-traffic-{time.time_ns()}.parquet")
        for part in parts:
            part.unlink()
        return len(frame)


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Write a parquet part atomically: readers (Feast, the trigger) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_parquet(partial, index=False)
    partial.rename(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=f"the platform's state (default {DEFAULT_STATE_DIR})")
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send prediction traffic of new customers")
    send.add_argument("--server", default=DEFAULT_SERVER, help=f"the model server (default {DEFAULT_SERVER})")
    send.add_argument("--seconds", type=float, default=60.0)
    send.add_argument("--shift", type=float, default=0.0, help="how far the population has moved, 0 to 1 (default 0)")
    send.add_argument("--rate", type=float, default=10.0, help="requests a second (default 10)")
    send.add_argument("--batch", type=int, default=25, help="customers a request (default 25)")
    commands.add_parser("labels", help="deliver the ground truth of the traffic sent so far")
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except NoPlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "send":
        if not 0 <= args.shift <= 1:
            parser.error(f"--shift: got {args.shift}, allowed 0 to 1")
        if args.seconds <= 0 or args.rate <= 0 or args.batch < 1:
            parser.error("--seconds and --rate must be positive and --batch at least 1")
        traffic = Traffic(args.state_dir, args.server)
        print(f"sending for {args.seconds:.0f}s at {args.rate:g} requests/s (shift {args.shift:g}) to {args.server} ...", flush=True)
        try:
            sent = traffic.send(args.seconds, shift=args.shift, batch=args.batch, rate=args.rate)
        except httpx.HTTPError as error:
            print(f"error: cannot reach the model server at {args.server}: {error}", file=sys.stderr)
            return 1
        print(sent.line())
        return 0 if not sent.failures else 1
    delivered = Traffic(args.state_dir, DEFAULT_SERVER).deliver_labels()
    print(f"delivered {delivered} labels to the churn_labels source" if delivered else "no pending labels; send traffic first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
