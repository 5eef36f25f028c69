"""Planning: whole-process time and peak memory of `mlops plan`, for the churn example and for 1, 10 and 50 models.

Each measurement is a fresh `mlops plan --stack S --out plan.json` process
(what a user and the pull-request workflow run), timed from start to exit,
with its peak resident memory from the kernel (wait4). The N-model platforms
come from bench/specs/many_models.py in a scratch Pulumi project, on both
targets. Goals: the churn example plans in under 2 seconds, and 50 models
take at most 10 times as long as one.

    .venv/bin/python bench/plan.py [--repeat 3]

Prints a table, writes bench/results/plan.json and plan.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MLOPS = [sys.executable, "-m", "mlops_dsl"]
SIZES = (1, 10, 50)
CHURN_STACKS = ("churn-dev", "churn-staging", "churn-prod")
CHURN_GOAL_SECONDS = 2.0
SCALING_GOAL_RATIO = 10.0


def measure(stack: str, project: Path, env: dict[str, str], scratch: Path) -> tuple[float, float, int]:
    """One `mlops plan` process: seconds, peak memory in MB, and how many resources it planned."""
    out = scratch / f"{stack}.plan.json"
    began = time.perf_counter()
    process = subprocess.Popen(
        [*MLOPS, "plan", "--stack", stack, "--out", str(out)],
        cwd=project,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"error: mlops plan --stack {stack} exited {code}: {process.stderr.read().decode() if process.stderr else ''}")
    resources = len(json.loads(out.read_text())["resources"])
    return seconds, usage.ru_maxrss / 1024, resources


def scratch_project(folder: Path) -> Path:
    """A Pulumi project with the N-model spec and one prod stack per target."""
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", folder / "__main__.py")
    shutil.copy(ROOT / "bench" / "specs" / "many_models.py", folder / "many_models.py")
    (folder / "stacks").mkdir()
    for environment in ("k8s", "aws"):
        (folder / "stacks" / f"Pulumi.bench-{environment}.yaml").write_text(
            f"config:\n  mlops:spec: many_models.py\n  mlops:environment: {environment}\n"
        )
    return folder


def series(stack: str, project: Path, env: dict[str, str], repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mlops-bench-plan-out-") as scratch:
        runs = [measure(stack, project, env, Path(scratch)) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "seconds_all": [round(r[0], 3) for r in runs],
        "peak_mb": max(r[1] for r in runs),
        "resources": runs[0][2],
    }


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (churn, left, right) = plt.subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"width_ratios": [0.8, 1, 1]})
    stacks = [r["stack"] for r in result["churn"]]
    churn.bar(stacks, [r["seconds"] for r in result["churn"]], color="tab:green")
    churn.axhline(CHURN_GOAL_SECONDS, color="tab:red", linestyle="--", label=f"goal: under {CHURN_GOAL_SECONDS:g} s")
    churn.set(ylabel="seconds (median)", title="mlops plan: the churn example")
    churn.set_ylim(0, max([CHURN_GOAL_SECONDS * 1.25] + [r["seconds"] * 1.1 for r in result["churn"]]))
    churn.legend(loc="upper left")
    for target, marker in (("kubernetes", "o"), ("aws", "s")):
        rows = [r for r in result["scaling"] if r["target"] == target]
        left.plot([r["models"] for r in rows], [r["seconds"] for r in rows], marker=marker, label=target)
        right.plot([r["models"] for r in rows], [r["peak_mb"] for r in rows], marker=marker, label=target)
    left.set(xlabel="models", ylabel="seconds (median)", title="mlops plan: time")
    right.set(xlabel="models", ylabel="peak MB", title="mlops plan: memory")
    for axes in (churn, left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description="Time and peak memory of `mlops plan`.")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median time is reported (default 3)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat: got {args.repeat}, allowed 1 or more")
    about = machine()
    result: dict[str, Any] = {"benchmark": "plan", "machine": about, "at": datetime.now(UTC).isoformat(timespec="seconds")}

    result["churn"] = []
    for stack in CHURN_STACKS:
        print(f"planning {stack} x{args.repeat} ...", flush=True)
        result["churn"].append({"stack": stack, **series(stack, ROOT, {}, args.repeat)})

    result["scaling"] = []
    with tempfile.TemporaryDirectory(prefix="mlops-bench-plan-") as folder:
        project = scratch_project(Path(folder))
        for target, environment in (("kubernetes", "k8s"), ("aws", "aws")):
            for size in SIZES:
                print(f"planning {size} model(s) on {target} x{args.repeat} ...", flush=True)
                measured = series(f"bench-{environment}", project, {"MLOPS_BENCH_MODELS": str(size)}, args.repeat)
                result["scaling"].append({"target": target, "models": size, **measured})

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plan.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(result, RESULTS / "plan.png")

    print(f"\nMachine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, load {about['load_average'][0]:.2f}")
    print(f"\n{'case':<28} {'resources':>9} {'time (median)':>14} {'peak memory':>12}")
    for row in result["churn"]:
        print(f"{row['stack']:<28} {row['resources']:>9} {row['seconds']:>13.2f}s {row['peak_mb']:>9.0f} MB")
    for row in result["scaling"]:
        case = f"{row['models']} model(s), {row['target']}"
        print(f"{case:<28} {row['resources']:>9} {row['seconds']:>13.2f}s {row['peak_mb']:>9.0f} MB")
    print()
    slowest = max(result["churn"], key=lambda row: row["seconds"])
    print(
        f"Goal: the churn example under {CHURN_GOAL_SECONDS:g}s -> slowest stack {slowest['stack']} {slowest['seconds']:.2f}s: "
        f"{'met' if slowest['seconds'] < CHURN_GOAL_SECONDS else 'missed'}"
    )
    for target in ("kubernetes", "aws"):
        rows = {r["models"]: r for r in result["scaling"] if r["target"] == target}
        ratio = rows[50]["seconds"] / rows[1]["seconds"]
        print(f"Goal: 50 models at most 10x one model ({target}) -> {ratio:.1f}x: {'met' if ratio <= SCALING_GOAL_RATIO else 'missed'}")
    print(f"Results: {RESULTS / 'plan.json'}, chart: {RESULTS / 'plan.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
