"""Feedback loop: time from a distribution shift to the retrained version serving, on the local target.

Brings the churn example up in a temporary directory (as ``mlops up`` does for a
user), sends normal traffic, shifts the customer population, and times each
step of the loop until the model server answers with the retrained version:

    shift -> drift condition true (Prometheus) -> alert firing -> delivered to the
    trigger (Alertmanager) -> run started -> run finished -> new version serving

and compares the total with its floor: the scrape interval, plus the rule
evaluation interval, plus the alert's ``for``, plus Alertmanager's group wait,
plus the training time (measured). Goal: within 10 seconds of the floor.

    .venv/bin/python bench/feedback_loop.py [--rounds 1]

Prints a table, writes bench/results/feedback_loop.json and feedback_loop.png.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.machine import machine  # noqa: E402
from mlops_dsl.local.layout import SCRAPE_INTERVAL  # noqa: E402
from mlops_dsl.local.up import resolve  # noqa: E402
from mlops_dsl.spec.base import parse_duration  # noqa: E402
from tests.helpers.local import copy_example, free_base_port, mlops, traffic_module  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ALERT = "churn-feature-drift"


def stamp(text: str) -> float:
    """A wall-clock timestamp (ISO 8601, as Prometheus and the trigger write them) in seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait(check: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (httpx.HTTPError, OSError, sqlite3.Error):
            found = None
        if found:
            return found
        time.sleep(interval)
    raise SystemExit(f"error: timed out after {timeout:.0f}s waiting for {what}")


class Background:
    """Traffic in slices on a thread, with each slice's ground truth delivered after it."""

    def __init__(self, traffic: Any, shift: float) -> None:
        self.traffic, self.shift = traffic, shift
        self.first_seen: dict[str, float] = {}
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            sent = self.traffic.send(2.0, shift=self.shift, rate=8.0)
            self.failures += sum(sent.failures.values())
            for version, monotonic in sent.first_seen.items():
                self.first_seen.setdefault(version, time.time() - (time.monotonic() - monotonic))
            self.traffic.deliver_labels()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def one_round(workdir: Path, say: Any) -> dict[str, Any]:
    base_port = free_base_port()
    spec = copy_example(
        workdir / "example",
        base_port=base_port,
        # Only the alert starts a run here, as in the end-to-end test.
        replace={'OnNewData(source="churn_labels", min_new_rows=500)': 'OnNewData(source="churn_labels", min_new_rows=10_000_000)'},
    )
    state = workdir / "state"
    say("bringing the churn example up (mlops up) ...")
    up = mlops("up", spec, "--state-dir", state, cwd=workdir)
    if up.returncode != 0:
        raise SystemExit(f"error: mlops up failed:\n{up.stdout}\n{up.stderr}")
    local = resolve(str(spec), None, str(state))
    prometheus, server = local.url("prometheus"), local.url("model-server")
    monitor = next(m for m in local.spec.platform.model("churn").monitors if m.name == ALERT)
    alerting = local.spec.platform.alerting
    try:
        traffic = traffic_module(spec.parent).Traffic(state, server)
        say("normal traffic for 20s ...")
        normal = Background(traffic, 0.0)
        time.sleep(20)
        normal.stop()
        say("shift: the customer population moves (shift 0.9) ...")
        shifted_at = time.time()
        shifted = Background(traffic, 0.9)

        def alert() -> dict[str, Any] | None:
            alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            return next((a for a in alerts if a["labels"]["alertname"] == ALERT and a["state"] == "firing"), None)

        fired = wait(alert, 300, f"{ALERT} to fire")
        fired_seen = time.time()
        say(f"  {ALERT} firing ({fired_seen - shifted_at:.1f}s)")

        def query(sql: str) -> list[sqlite3.Row]:
            with sqlite3.connect(f"file:{state / 'trigger.db'}?mode=ro", uri=True) as db:
                db.row_factory = sqlite3.Row
                return db.execute(sql).fetchall()

        decision = wait(lambda: query(f"SELECT * FROM decisions WHERE trigger = 'alert:{ALERT}' ORDER BY id LIMIT 1"), 120, "delivery")[0]
        say(f"  delivered to the trigger ({stamp(decision['at']) - shifted_at:.1f}s)")
        run = wait(lambda: query("SELECT * FROM runs WHERE finished_at IS NOT NULL LIMIT 1"), 600, "the run to finish", 0.5)[0]
        say(f"  run {run['id']} {run['status']} {run['outcome']} -> v{run['version']} ({stamp(run['finished_at']) - shifted_at:.1f}s)")
        if run["outcome"] != "promoted":
            raise SystemExit(f"error: the run ended {run['outcome']}; nothing new to serve ({run['detail']})")
        version = str(run["version"])
        wait(lambda: version in shifted.first_seen, 120, f"v{version} serving", 0.1)
        time.sleep(2)
        shifted.stop()
        serving = shifted.first_seen[version]
        say(f"  v{version} serving ({serving - shifted_at:.1f}s)")
    finally:
        mlops("down", spec, "--state-dir", state, cwd=workdir)

    scrape = parse_duration(SCRAPE_INTERVAL).total_seconds()
    evaluation = alerting.evaluation_interval.total_seconds()
    fire_after = monitor.fire_after.total_seconds()
    group_wait = alerting.group_wait.total_seconds()
    training = stamp(run["finished_at"]) - stamp(run["started_at"])
    floor = scrape + evaluation + fire_after + group_wait + training
    steps = {
        "drift condition true": stamp(fired["activeAt"]) - shifted_at,
        "alert firing": stamp(fired["activeAt"]) + fire_after - shifted_at,
        "delivered to the trigger": stamp(decision["at"]) - shifted_at,
        "run started": stamp(run["started_at"]) - shifted_at,
        "run finished": stamp(run["finished_at"]) - shifted_at,
        "new version serving": serving - shifted_at,
    }
    return {
        "total_seconds": serving - shifted_at,
        "floor_seconds": floor,
        "over_floor_seconds": serving - shifted_at - floor,
        "floor_parts": {
            "scrape_interval": scrape,
            "evaluation_interval": evaluation,
            "alert_for": fire_after,
            "group_wait": group_wait,
            "training": training,
        },
        "steps_after_shift": steps,
        "failed_requests": shifted.failures + normal.failures,
        "drift_window": monitor.window.total_seconds(),
    }


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = result["rounds"][0]["steps_after_shift"]
    floor = result["rounds"][0]["floor_parts"]
    figure, axes = plt.subplots(figsize=(9, 3.6))
    previous = 0.0
    for index, (name, at) in enumerate(steps.items()):
        axes.barh(0, at - previous, left=previous, color=plt.cm.tab10(index), label=f"{name} ({at:.1f}s)")
        previous = at
    previous = 0.0
    for index, (name, seconds) in enumerate(floor.items()):
        axes.barh(1, seconds, left=previous, color=plt.cm.Pastel1(index), edgecolor="grey", label=f"floor: {name} ({seconds:.1f}s)")
        previous += seconds
    axes.set_yticks([0, 1], ["measured", "floor"])
    axes.set_xlabel("seconds after the shift")
    axes.set_title(f"Shift to retrained version serving: {steps['new version serving']:.1f}s (floor {previous:.1f}s)")
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description="Time from a distribution shift to the retrained version serving (local target).")
    parser.add_argument("--rounds", type=int, default=1, help="how many times to run the loop from scratch (default 1)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds: got {args.rounds}, allowed 1 or more")
    about = machine()
    rounds = []
    for number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="mlops-bench-loop-") as workdir:
            print(f"round {number}/{args.rounds}", flush=True)
            rounds.append(one_round(Path(workdir), lambda line: print(line, flush=True)))
    result = {"benchmark": "feedback_loop", "machine": about, "at": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": rounds}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "feedback_loop.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(result, RESULTS / "feedback_loop.png")

    print(f"\nMachine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, load {about['load_average'][0]:.2f}")
    print(f"{'round':>5}  {'shift->serving':>14}  {'floor':>7}  {'over floor':>10}  {'training':>8}  {'failed':>6}")
    for number, one in enumerate(rounds, 1):
        print(
            f"{number:>5}  {one['total_seconds']:>13.1f}s  {one['floor_seconds']:>6.1f}s  {one['over_floor_seconds']:>9.1f}s  "
            f"{one['floor_parts']['training']:>7.1f}s  {one['failed_requests']:>6}"
        )
    print("\nSteps after the shift (first round):")
    for name, at in rounds[0]["steps_after_shift"].items():
        print(f"  {name:<26} {at:6.1f}s")
    worst = max(one["over_floor_seconds"] for one in rounds)
    print(f"\nGoal: within 10s of the floor -> {'met' if worst <= 10 else 'missed'} (worst {worst:.1f}s over)")
    print(f"Results: {RESULTS / 'feedback_loop.json'}, chart: {RESULTS / 'feedback_loop.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
