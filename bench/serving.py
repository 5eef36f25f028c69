"""Serving: the project's model server against MLServer, same model, same client, same request.

Trains the churn example's model once (the real trainer, as ``mlops up`` does),
then serves it on 127.0.0.1 with

  (a) ``mlops serve`` (the churn example's local environment, as deployed:
      drift histograms, request metrics and 25% data capture on; it answers
      with the probability and the label, predicted on its fast path for
      histogram gradient boosting, mlops_dsl/runtime/server/trees.py), and
  (b) MLServer with its scikit-learn runtime, loading the same estimator saved
      with joblib and answering with ``predict`` (the label; scikit-learn
      computes the probabilities for it all the same). MLServer lives in its
      own virtual environment, ``.venv-mlserver``, created from PyPI on first
      use, with the same scikit-learn and HTTP parser (httptools) as ours,

one after the other, and drives both with the same load generator (aiohttp,
keep-alive connections) sending the same Open Inference Protocol request: one
``[N, 7]`` FP64 tensor named ``predict``, without ``outputs``. At each
concurrency level it warms up, then counts completed requests over a fixed
duration and records every latency.

Fairness: one server process each (MLServer's ``parallel_workers`` is 0, so it
predicts in its main process as ours does), each server pinned to CPU 1 and the
load generator to CPU 0 (on machines with two or more cores), the same
environment (one OpenMP thread), access logs off and warnings-level logging for
both, and both servers' Prometheus metrics on (ours are always on; MLServer's on
its own metrics port). Goal: at least 1.5 times MLServer's throughput with p99
latency no worse.

    .venv/bin/python bench/serving.py [--levels 1 8 32] [--duration 20] [--warmup 3] [--rows 1]

Prints a table, writes bench/results/serving.json and serving.png.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench.machine import cpu_seconds, machine, pin  # noqa: E402
from tests.helpers.churn import SPEC, data_module  # noqa: E402
from tests.helpers.processes import Process, free_port, mlops  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MLSERVER_VENV = ROOT / ".venv-mlserver"
MLSERVER_VERSION = "1.7.1"
MODEL = "churn"
GOAL_RATIO = 1.5
SERVER_CPU, CLIENT_CPU = 1, 0
# The same for both servers: HistGradientBoosting predicts with OpenMP, which would otherwise size its pool by the machine.
SERVER_ENV = {"OMP_NUM_THREADS": "1"}

Say = Callable[[str], None]


# --- the model ---------------------------------------------------------------------


def train_state(root: Path, say: Say) -> Path:
    """A state directory with version 1 of churn in production, trained by the real trainer (as the tests' fixture does)."""
    from mlops_dsl.loading.loader import load_platform
    from mlops_dsl.runtime.features import local_store
    from mlops_dsl.runtime.registry import ModelRegistry
    from mlops_dsl.runtime.state import StatePaths
    from mlops_dsl.runtime.trainer import train

    say("training churn v1 (examples/churn, local environment) ...")
    started = time.monotonic()
    local = load_platform(SPEC, environment="local")["local"]
    paths = StatePaths(root)
    data_module().generate(paths.data_root, customers=3000, snapshots=3, seed=1)
    store = local_store(local.platform.feature_store, paths.feature_repo, paths.data_root)
    result = train(
        local,
        MODEL,
        registry=ModelRegistry(paths.registry_uri()),
        store=store,
        data_root=paths.data_root,
        trigger_reason="serving benchmark",
        run_id="bench",
    )
    if result.outcome != "promoted":
        raise SystemExit(f"error: training ended {result.outcome}, not promoted: {result}")
    say(f"  trained in {time.monotonic() - started:.0f}s")
    return root


def export_for_mlserver(state: Path, folder: Path, port: int, grpc_port: int, metrics_port: int) -> list[str]:
    """Save version 1's estimator with joblib and write MLServer's settings beside it; returns the input feature order."""
    import joblib

    from mlops_dsl.runtime.registry import ModelRegistry
    from mlops_dsl.runtime.state import StatePaths

    loaded = ModelRegistry(StatePaths(state).registry_uri()).load(MODEL, "1")
    model_dir = folder / MODEL
    model_dir.mkdir(parents=True)
    joblib.dump(loaded.estimator, model_dir / "model.joblib")
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": MODEL,
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    # Warnings only and no access log, as `mlops serve` runs (uvicorn log_level="warning", access_log=False).
    logging_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "loggers": {
            "mlserver": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
    (folder / "logging.json").write_text(json.dumps(logging_config))
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": grpc_port,
                "metrics_port": metrics_port,
                "parallel_workers": 0,
                "debug": False,
                "logging_settings": str(folder / "logging.json"),
            }
        )
    )
    return loaded.inputs


# --- MLServer's environment ---------------------------------------------------------


def mlserver_python(say: Say) -> Path:
    """The interpreter of MLServer's own virtual environment, created on first use (its pins conflict with ours)."""
    import sklearn

    python = MLSERVER_VENV / "bin" / "python"
    stamp = MLSERVER_VENV / ".bench-stamp"
    # The same scikit-learn as ours, so the joblib file unpickles into the same estimator; and the same HTTP parser
    # as ours (uvicorn picks httptools when it is installed, else the pure-Python h11), so the frameworks are compared.
    wanted = [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        f"scikit-learn=={sklearn.__version__}",
        f"httptools=={importlib.metadata.version('httptools')}",
    ]
    if python.exists() and stamp.exists() and stamp.read_text() == " ".join(wanted):
        return python
    say(f"installing {' '.join(wanted)} from PyPI into {MLSERVER_VENV.name} (first run only) ...")
    if not python.exists():
        if MLSERVER_VENV.exists():
            shutil.rmtree(MLSERVER_VENV)
        subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(MLSERVER_VENV)], check=True)
    install = subprocess.Popen(
        [str(python), "-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check", *wanted],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert install.stdout is not None
    for line in install.stdout:
        if line.startswith(("Collecting", "Successfully", "ERROR")):
            say(f"  pip: {line.rstrip()}")
    if install.wait() != 0:
        raise SystemExit(f"error: installing MLServer into {MLSERVER_VENV} failed (pip exit code {install.returncode})")
    stamp.write_text(" ".join(wanted))
    return python


def versions_in(python: Path, packages: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``packages`` in the environment of ``python``."""
    script = "import importlib.metadata as m, json, sys; print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    found: dict[str, str] = json.loads(
        subprocess.run([str(python), "-c", script, *packages], capture_output=True, text=True, check=True).stdout
    )
    return found


# --- the servers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server under test: how to start it and where to send requests."""

    name: str
    command: list[str]
    ready_url: str
    infer_url: str
    cwd: Path | None = None


def start(target: Target, log: Path, pin_cpu: bool) -> Process:
    """Start a server, pinned to its CPU, and wait until it answers ready."""
    process = Process(target.command, log, env=SERVER_ENV, cwd=target.cwd)
    if pin_cpu:
        pin(process.popen.pid, SERVER_CPU)
    process.wait_http(target.ready_url, timeout=180)
    if pin_cpu:
        pin(process.popen.pid, SERVER_CPU)  # and the threads it started meanwhile
    return process


# --- the load generator -----------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """What one server did at one concurrency level."""

    concurrency: int
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float
    client_cpu_share: float
    """The load generator's CPU time over the window's wall time: near 1.0 means it, not the server, was the limit."""


async def drive(url: str, bodies: list[bytes], concurrency: int, warmup: float, duration: float, pid: int) -> Level:
    """Keep ``concurrency`` requests in flight for ``warmup`` + ``duration`` seconds; measure the last ``duration``."""
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        begin = time.perf_counter()
        window_start = begin + warmup
        window_end = window_start + duration
        marks: dict[str, float] = {}

        async def worker(index: int) -> None:
            nonlocal errors
            count = index
            while True:
                sent = time.perf_counter()
                if sent >= window_end:
                    return
                if sent >= window_start and "cpu" not in marks:
                    marks["cpu"] = cpu_seconds(pid)
                    marks["client"] = time.process_time()
                async with session.post(url, data=bodies[count % len(bodies)]) as response:
                    await response.read()
                    status = response.status
                done = time.perf_counter()
                count += concurrency
                if window_start <= done < window_end and sent >= window_start:
                    latencies.append(done - sent)
                    errors += status != 200

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        server_cpu = cpu_seconds(pid) - marks["cpu"]
        client_cpu = time.process_time() - marks["client"]
    milliseconds = np.asarray(latencies) * 1000
    p50, p90, p99 = np.percentile(milliseconds, [50, 90, 99])
    return Level(
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        seconds=duration,
        throughput=len(latencies) / duration,
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        max_ms=float(milliseconds.max()),
        server_cpu_ms_per_request=server_cpu * 1000 / max(len(latencies), 1),
        client_cpu_share=client_cpu / duration,
    )


def one_answer(url: str, body: bytes) -> dict[str, Any]:
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"error: {url} answered {response.status_code}: {response.text[:500]}")
    answer: dict[str, Any] = response.json()
    return answer


def labels_of(answer: dict[str, Any]) -> list[int]:
    """The predicted classes in an answer: our ``label`` output, or MLServer's ``predict``."""
    output = next(o for o in answer["outputs"] if o["name"] in ("label", "predict"))
    return [int(v) for v in np.ravel(output["data"])]


def request_bodies(inputs: list[str], rows: int, count: int = 64) -> list[bytes]:
    """``count`` different requests of ``rows`` rows each: one [rows, 7] FP64 tensor, as MLServer's runtime takes it."""
    import orjson

    frame = data_module().requests(rows * count, seed=7)
    matrix = frame[inputs].to_numpy(dtype=float)
    return [
        orjson.dumps({"inputs": [{"name": "predict", "shape": [rows, len(inputs)], "datatype": "FP64", "data": part.ravel().tolist()}]})
        for part in np.split(matrix, count)
    ]


# --- the run --------------------------------------------------------------------------------


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    servers = list(result["servers"])
    levels = [level["concurrency"] for level in result["servers"][servers[0]]["levels"]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(servers)
    positions = np.arange(len(levels))
    for index, name in enumerate(servers):
        figures = result["servers"][name]["levels"]
        bars = left.bar(positions + index * width, [f["throughput"] for f in figures], width, label=name)
        left.bar_label(bars, fmt="%.0f", fontsize=7)
        right.plot(levels, [f["p50_ms"] for f in figures], marker="o", linestyle="--", color=f"C{index}", label=f"{name} p50")
        right.plot(levels, [f["p99_ms"] for f in figures], marker="o", color=f"C{index}", label=f"{name} p99")
    left.set_xticks(positions + width * (len(servers) - 1) / 2, [str(level) for level in levels])
    left.set_xlabel("concurrent requests")
    left.set_ylabel("requests per second")
    ratios = ", ".join(f"{r['throughput_ratio']:.2f}x" for r in result["ratios"])
    left.set_title(f"Throughput (ours / MLServer: {ratios})", fontsize=9)
    left.legend(fontsize=8)
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    right.set_xticks(levels, [str(level) for level in levels])
    right.set_xlabel("concurrent requests")
    right.set_ylabel("latency (ms)")
    right.set_title("Latency", fontsize=9)
    right.legend(fontsize=7)
    rows = result["rows_per_request"]
    figure.suptitle(f"Serving churn (HistGradientBoosting), {rows} row(s) per request, {result['machine']['cpu']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def print_table(result: dict[str, Any]) -> None:
    about = result["machine"]
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (about["load_average"], result["load_average_after"]))
    print(f"\nMachine: {about['cpu']}, {about['cores']} cores, Python {about['python']}")
    print(f"Load average (1, 5, 15 min) before: {before}, after: {after}")
    print(f"Versions: {', '.join(f'{name} {version}' for name, version in result['versions'].items())}")
    warmup, duration = result["warmup_seconds"], result["duration_seconds"]
    print(f"{result['rows_per_request']} row(s) per request; {warmup:.0f}s warm-up, then {duration:.0f}s measured")
    header = ("server", "conc", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req", "client CPU")
    print("\n{:<12} {:>4} {:>8} {:>7} {:>7} {:>7} {:>6} {:>10} {:>10}".format(*header))
    for name, figures in result["servers"].items():
        for level in figures["levels"]:
            print(
                f"{name:<12} {level['concurrency']:>4} {level['throughput']:>8.0f} {level['p50_ms']:>7.2f} {level['p99_ms']:>7.2f} "
                f"{level['max_ms']:>7.1f} {level['errors']:>6} {level['server_cpu_ms_per_request']:>10.3f} "
                f"{level['client_cpu_share']:>10.0%}"
            )
    if result["ratios"]:
        print(f"\n{'conc':>4} {'throughput ours/MLServer':>25} {'p99 ours/MLServer':>18}  goal: >= {GOAL_RATIO}x, p99 no worse")
        for ratio in result["ratios"]:
            verdict = "met" if ratio["goal_met"] else "missed"
            print(f"{ratio['concurrency']:>4} {ratio['throughput_ratio']:>24.2f}x {ratio['p99_ratio']:>17.2f}x  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description="The project's model server against MLServer: throughput and latency.")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels (default 1 8 32)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per level (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per level, not measured (default 3)")
    parser.add_argument("--rows", type=int, default=1, help="rows per request (default 1)")
    parser.add_argument("--state-dir", metavar="DIR", help="reuse (or train into) this state directory instead of a temporary one")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the servers and the load generator to separate CPUs")
    parser.add_argument("--only", choices=("mlops", "mlserver"), help="run one server only (for profiling); no ratio")
    args = parser.parse_args()
    for name, value, low in (("--duration", args.duration, 1), ("--rows", args.rows, 1), ("--warmup", args.warmup, 0)):
        if value < low:
            parser.error(f"{name}: got {value}, allowed {low} or more")
    if any(level < 1 for level in args.levels):
        parser.error(f"--levels: got {args.levels}, each must be 1 or more")

    def say(line: str) -> None:
        print(line, flush=True)

    about = machine()
    say(f"load average at start: {' '.join(f'{x:.2f}' for x in about['load_average'])} on {about['cores']} cores")
    pin_cpu = not args.no_pin and (os.cpu_count() or 1) >= 2
    python = mlserver_python(say) if args.only != "mlops" else None
    with tempfile.TemporaryDirectory(prefix="mlops-bench-serving-") as scratch:
        work = Path(scratch)
        state = Path(args.state_dir).resolve() if args.state_dir else work / "state"
        if not (state / "registry").is_dir():
            train_state(state, say)
        ours_port, mlserver_port = free_port(), free_port()
        inputs = export_for_mlserver(state, work / "mlserver", mlserver_port, free_port(), free_port())
        bodies = request_bodies(inputs, args.rows)
        targets = []
        if args.only != "mlserver":
            targets.append(
                Target(
                    "mlops serve",
                    mlops("serve", "--spec", str(SPEC), "--env", "local", "--state-dir", str(state), "--port", str(ours_port)),
                    f"http://127.0.0.1:{ours_port}/v2/health/ready",
                    f"http://127.0.0.1:{ours_port}/v2/models/{MODEL}/infer",
                )
            )
        if python is not None:
            targets.append(
                Target(
                    "MLServer",
                    [str(python.parent / "mlserver"), "start", str(work / "mlserver")],
                    f"http://127.0.0.1:{mlserver_port}/v2/models/{MODEL}/ready",
                    f"http://127.0.0.1:{mlserver_port}/v2/models/{MODEL}/infer",
                    cwd=work / "mlserver",
                )
            )
        if pin_cpu:
            os.sched_setaffinity(0, {CLIENT_CPU})
        servers: dict[str, Any] = {}
        answers: dict[str, list[int]] = {}
        for target in targets:
            say(f"starting {target.name} ...")
            process = start(target, work / f"{target.name.replace(' ', '-')}.log", pin_cpu)
            try:
                answers[target.name] = [label for body in bodies[:8] for label in labels_of(one_answer(target.infer_url, body))]
                levels = []
                for concurrency in args.levels:
                    say(f"  {target.name}: concurrency {concurrency}, {args.warmup:.0f}s warm-up + {args.duration:.0f}s ...")
                    level = asyncio.run(drive(target.infer_url, bodies, concurrency, args.warmup, args.duration, process.popen.pid))
                    say(f"    {level.throughput:.0f} req/s, p50 {level.p50_ms:.2f} ms, p99 {level.p99_ms:.2f} ms, {level.errors} errors")
                    levels.append(level)
            finally:
                process.stop()
            servers[target.name] = {"levels": [asdict(level) for level in levels]}
    if len(answers) == 2 and len(set(map(tuple, answers.values()))) != 1:
        raise SystemExit(f"error: the two servers disagree on the same requests: {answers}")

    versions = {"mlops-dsl": importlib.metadata.version("mlops-dsl")}
    versions |= {name: importlib.metadata.version(name) for name in ("scikit-learn", "starlette", "uvicorn", "httptools", "uvloop")}
    if python is not None:
        theirs = versions_in(python, ["mlserver", "mlserver-sklearn", "scikit-learn", "fastapi", "uvicorn", "httptools", "uvloop"])
        versions |= {f"MLServer's {name}" if name not in ("mlserver", "mlserver-sklearn") else name: v for name, v in theirs.items()}
    ratios = []
    if len(servers) == 2:
        for ours, theirs in zip(servers["mlops serve"]["levels"], servers["MLServer"]["levels"], strict=True):
            throughput_ratio = ours["throughput"] / theirs["throughput"]
            p99_ratio = ours["p99_ms"] / theirs["p99_ms"]
            met = throughput_ratio >= GOAL_RATIO and p99_ratio <= 1.0
            level = ours["concurrency"]
            ratios.append({"concurrency": level, "throughput_ratio": throughput_ratio, "p99_ratio": p99_ratio, "goal_met": met})
    result = {
        "benchmark": "serving",
        "machine": about,
        "load_average_after": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions,
        "setup": {
            "model": "churn v1, sklearn HistGradientBoostingClassifier (examples/churn, local environment)",
            "request": f"POST /v2/models/{MODEL}/infer, one [{args.rows}, {len(inputs)}] FP64 tensor 'predict', no 'outputs'",
            "client": "aiohttp, keep-alive, one connection per concurrent request",
            "worker_processes": "1 each (MLServer parallel_workers=0)",
            "cpu_pinning": f"servers on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}" if pin_cpu else "none",
            "environment": SERVER_ENV,
            "logging": "warnings, no access log, for both",
            "metrics": "on for both (mlops serve: request, drift and prediction histograms; MLServer: its metrics server)",
            "data_capture": "mlops serve: on, 25% of requests (the churn example's setting); MLServer: none",
        },
        "rows_per_request": args.rows,
        "warmup_seconds": args.warmup,
        "duration_seconds": args.duration,
        "servers": servers,
        "ratios": ratios,
        "goal": f"throughput >= {GOAL_RATIO}x MLServer's with p99 no worse, at every level",
        "goal_met": bool(ratios) and all(r["goal_met"] for r in ratios),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    if len(servers) == 2:
        chart(result, RESULTS / "serving.png")
    print_table(result)
    print(f"\nResults: {RESULTS / 'serving.json'}" + (f", chart: {RESULTS / 'serving.png'}" if len(servers) == 2 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
