"""Alert storm: 1,000 duplicate Alertmanager notifications in 10 seconds to the retraining trigger.

Starts the real retraining trigger (``mlops trigger``, local backend) for the
churn example's local environment in a temporary state directory,
authenticated with a bearer token read from ``MLOPS_WEBHOOK_SECRET_FILE`` as a
deployment does. Then it posts the same Alertmanager v4 notification (the
``churn-feature-drift`` alert, firing) 1,000 times, spread evenly over 10
seconds and without waiting for answers, so requests overlap whenever the
trigger is slower than they arrive. It reports how many runs started (the goal
is exactly one), the decisions by kind (from the trigger's own state file, and
from its answers), and the trigger's response times.

Runs do not train: the trainer command is the tests' stand-in
(tests/helpers/standin_trainer.py), which waits two seconds and writes a
result as the trainer would, and notes each start in a ledger.

    .venv/bin/python bench/alert_storm.py [--notifications 1000] [--seconds 10]

Prints a table, writes bench/results/alert_storm.json and alert_storm.png.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench.machine import cpu_seconds, machine, pin  # noqa: E402
from mlops_dsl.loading.loader import load_platform, resolved_json  # noqa: E402
from tests.helpers.churn import SPEC  # noqa: E402
from tests.helpers.processes import Process, free_port, mlops, wait_until  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STANDIN = ROOT / "tests" / "helpers" / "standin_trainer.py"
STANDIN_SECONDS = 2
ALERT = "churn-feature-drift"
TRIGGER_CPU, CLIENT_CPU = 1, 0


def notification() -> bytes:
    """The notification Alertmanager sends for the drift alert (webhook payload version 4); the storm repeats it."""
    started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    labels = {"alertname": ALERT, "model": "churn", "severity": "warning"}
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "retrain",
            "groupKey": '{}:{alertname="churn-feature-drift", model="churn"}',
            "truncatedAlerts": 0,
            "groupLabels": {"alertname": ALERT, "model": "churn"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "churn: feature drift"},
            "externalURL": "http://127.0.0.1:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": "churn: feature drift"},
                    "startsAt": started,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "5c1f0b2a9d3e4f61",
                    "generatorURL": "http://127.0.0.1:9090/graph",
                }
            ],
        }
    ).encode()


@dataclass
class Storm:
    """What the sender saw: when each notification went out, how long its answer took, and what the answers said."""

    sent: list[float] = field(default_factory=list)
    """Seconds after the start."""
    response: list[float] = field(default_factory=list)
    """Seconds from sending to the whole answer."""
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    """Decision kinds in the answers."""
    wall: float = 0.0
    """Seconds from the start to the last answer."""


async def storm(url: str, token: str, count: int, seconds: float) -> Storm:
    """Post the notification ``count`` times at even intervals over ``seconds``, not waiting for answers."""
    body = notification()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    seen = Storm()
    # No connection limit: every notification goes out on time, however slow the answers.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), headers=headers) as session:
        begin = time.perf_counter()

        async def one(index: int) -> None:
            await asyncio.sleep(max(0.0, begin + index * seconds / count - time.perf_counter()))
            sent = time.perf_counter()
            async with session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=60)) as response:
                answer = await response.read()
            seen.sent.append(sent - begin)
            seen.response.append(time.perf_counter() - sent)
            seen.statuses[response.status] += 1
            if response.status == 200:
                seen.kinds.update(decision["kind"] for decision in json.loads(answer)["decisions"])

        await asyncio.gather(*(one(index) for index in range(count)))
        seen.wall = time.perf_counter() - begin
    return seen


@dataclass(frozen=True)
class Outcome:
    """What the trigger recorded: its runs, its decisions by kind, the trainer processes it started, its metric."""

    runs: list[dict[str, Any]]
    decisions: dict[str, int]
    processes: int
    metric: dict[str, float]


def outcome(state: Path, url: str) -> Outcome:
    """Read the trigger's state file (read-only), the stand-in's ledger, and the trigger's decision counter."""
    with sqlite3.connect(f"file:{state / 'trigger.db'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        runs = [dict(row) for row in db.execute("SELECT * FROM runs")]
        decisions = {row["kind"]: int(row["n"]) for row in db.execute("SELECT kind, COUNT(*) AS n FROM decisions GROUP BY kind")}
    ledger = state / "runs" / "runs.log"
    metric = {
        line.split('kind="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines()
        if line.startswith("mlops_retraining_decisions_total{")
    }
    return Outcome(runs, decisions, len(ledger.read_text().splitlines()) if ledger.exists() else 0, metric)


def run_storm(count: int, seconds: float, pin_cpu: bool, say: Any) -> tuple[Storm, Outcome, float]:
    """Start the trigger in a scratch directory, send the storm, wait for the run to end; returns what was seen and recorded."""
    local = load_platform(SPEC, environment="local")["local"]
    with tempfile.TemporaryDirectory(prefix="mlops-bench-storm-") as scratch:
        work = Path(scratch)
        (work / "spec.json").write_text(resolved_json(local))
        token = secrets.token_urlsafe(32)
        secret_file = work / "webhook-token"
        secret_file.write_text(token)
        secret_file.chmod(0o600)
        state = work / "state"
        port = free_port()
        trigger = Process(
            mlops(
                "trigger", "--spec", str(work / "spec.json"), "--env", "local", "--state-dir", str(state),
                "--port", str(port), "--interval", "1",
                "--trainer-command", sys.executable, str(STANDIN), str(STANDIN_SECONDS), "{result}", "{reason}",
            ),
            work / "trigger.log",
            env={"MLOPS_WEBHOOK_SECRET_FILE": str(secret_file)},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            if pin_cpu:
                pin(trigger.popen.pid, TRIGGER_CPU)
            say("starting the retraining trigger (mlops trigger, local backend, stand-in trainer) ...")
            trigger.wait_http(f"{url}/healthz", timeout=90)
            if pin_cpu:
                pin(trigger.popen.pid, TRIGGER_CPU)
                os.sched_setaffinity(0, {CLIENT_CPU})
            say(f"storm: {count} identical notifications over {seconds:.0f}s ...")
            cpu_before = cpu_seconds(trigger.popen.pid)
            seen = asyncio.run(storm(f"{url}/alerts", token, count, seconds))
            trigger_cpu = cpu_seconds(trigger.popen.pid) - cpu_before
            say(f"  last answer after {seen.wall:.1f}s; the trigger used {trigger_cpu:.1f}s of CPU")
            say("waiting for the run to finish ...")
            wait_until(lambda: all(run["finished_at"] for run in outcome(state, url).runs), 60, "the run to finish")
            recorded = outcome(state, url)
        finally:
            trigger.stop()
            for pid_file in (state / "runs").glob("*/pid"):  # a stand-in run still going, in its own session
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text()), signal.SIGTERM)
    return seen, recorded, trigger_cpu


def chart(seen: Storm, result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    figure, axes = plt.subplots(figsize=(9, 3.6))
    milliseconds = np.asarray(seen.response) * 1000
    axes.scatter(seen.sent, milliseconds, s=4, alpha=0.6, label="one notification")
    response = result["response_ms"]
    for name, style in (("p50", ":"), ("p99", "--")):
        axes.axhline(response[name], color="grey", linestyle=style, linewidth=1, label=f"{name} {response[name]:.1f} ms")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axes.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
    axes.tick_params(axis="y", which="minor", labelsize=7)
    axes.set_xlabel("sent at (seconds into the storm)")
    axes.set_ylabel("trigger response time (ms)")
    decisions = ", ".join(f"{count} {kind}" for kind, count in sorted(result["decisions_recorded"].items()))
    axes.set_title(
        f"{result['notifications']} duplicate notifications in {result['seconds']:.0f}s: {result['runs_started']} run ({decisions})"
    )
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description="1,000 duplicate Alertmanager notifications in 10 seconds to the retraining trigger.")
    parser.add_argument("--notifications", type=int, default=1000, help="how many notifications (default 1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="spread over this many seconds (default 10)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the trigger and the sender to separate CPUs")
    args = parser.parse_args()
    if args.notifications < 1:
        parser.error(f"--notifications: got {args.notifications}, allowed 1 or more")
    if args.seconds <= 0:
        parser.error(f"--seconds: got {args.seconds}, allowed more than 0")

    def say(line: str) -> None:
        print(line, flush=True)

    about = machine()
    say(f"load average at start: {' '.join(f'{x:.2f}' for x in about['load_average'])} on {about['cores']} cores")
    pin_cpu = not args.no_pin and (os.cpu_count() or 1) >= 2
    seen, recorded, trigger_cpu = run_storm(args.notifications, args.seconds, pin_cpu, say)
    limits = load_platform(SPEC, environment="local")["local"].platform.model("churn").retraining
    sent, milliseconds = np.asarray(seen.sent), np.asarray(seen.response) * 1000
    p50, p90, p99 = (float(x) for x in np.percentile(milliseconds, [50, 90, 99]))
    by_second = []
    for second in range(int(np.ceil(args.seconds))):
        chosen = (sent >= second) & (sent < second + 1)
        if chosen.any():
            by_second.append(
                {
                    "second": second,
                    "sent": int(chosen.sum()),
                    "p50": float(np.median(milliseconds[chosen])),
                    "max": float(milliseconds[chosen].max()),
                }
            )
    result = {
        "benchmark": "alert_storm",
        "machine": about,
        "load_average_after": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": {
            "trigger": "mlops trigger, local backend, churn example (local environment), bearer token from MLOPS_WEBHOOK_SECRET_FILE",
            "limits": {
                "dedup_window": str(limits.dedup_window),
                "cooldown": str(limits.cooldown),
                "max_concurrent_runs": limits.max_concurrent_runs,
            },
            "trainer": f"tests/helpers/standin_trainer.py ({STANDIN_SECONDS}s, writes a promoted result; no real training)",
            "notification": f"Alertmanager webhook v4, one firing {ALERT} alert, the same body every time",
            "sending": f"{args.notifications} posts at even intervals over {args.seconds:.0f}s, not waiting for answers (aiohttp)",
            "cpu_pinning": f"trigger on CPU {TRIGGER_CPU}, sender on CPU {CLIENT_CPU}" if pin_cpu else "none",
        },
        "notifications": args.notifications,
        "seconds": args.seconds,
        "wall_seconds": seen.wall,
        "trigger_cpu_seconds": trigger_cpu,
        "statuses": dict(seen.statuses),
        "runs_started": len(recorded.runs),
        "trainer_processes_started": recorded.processes,
        "runs": recorded.runs,
        "decisions_recorded": recorded.decisions,
        "decisions_answered": dict(seen.kinds),
        "decisions_metric": recorded.metric,
        "response_ms": {"p50": p50, "p90": p90, "p99": p99, "max": float(milliseconds.max()), "mean": float(milliseconds.mean())},
        "response_ms_by_second": by_second,
        "goal_met": len(recorded.runs) == 1 and recorded.processes == 1,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "alert_storm.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    chart(seen, result, RESULTS / "alert_storm.png")
    print_table(result)
    print(f"Results: {RESULTS / 'alert_storm.json'}, chart: {RESULTS / 'alert_storm.png'}")
    return 0 if result["goal_met"] else 1


def print_table(result: dict[str, Any]) -> None:
    about = result["machine"]
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (about["load_average"], result["load_average_after"]))
    print(f"\nMachine: {about['cpu']}, {about['cores']} cores, Python {about['python']}")
    print(f"Load average (1, 5, 15 min) before: {before}, after: {after}")
    print(f"{result['notifications']} notifications over {result['seconds']:.0f}s, last answer after {result['wall_seconds']:.1f}s")
    print(f"HTTP statuses: {result['statuses']}; the trigger's CPU time: {result['trigger_cpu_seconds']:.1f}s\n")
    endings = ", ".join(f"{run['status']}/{run['outcome']}" for run in result["runs"])
    processes = result["trainer_processes_started"]
    print(f"{'runs started':<28} {result['runs_started']:>5}   (trainer processes started: {processes}; ended {endings})")
    answered, metric = result["decisions_answered"], result["decisions_metric"]
    for kind, count in sorted(result["decisions_recorded"].items()):
        print(f"{'decisions: ' + kind:<28} {count:>5}   (in the answers: {answered.get(kind, 0)}, metric: {metric.get(kind, 0):.0f})")
    response = result["response_ms"]
    print(f"{'response p50 / p99 / max':<28} {response['p50']:.1f} / {response['p99']:.1f} / {response['max']:.1f} ms")
    print(f"\nGoal: exactly one run -> {'met' if result['goal_met'] else 'missed'}")


if __name__ == "__main__":
    sys.exit(main())
