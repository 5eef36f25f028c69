"""Plan every stack at a pull request's base and head, and diff them, for the pull-request comment.

Each revision is planned by its own code (``<checkout>/.venv/bin/mlops plan``),
so a change to the components shows in the diff. A stack that exists on one
side only is diffed against an empty plan: added stacks show every resource
created, removed ones every resource deleted. The diff is rendered by the
head's ``mlops diff --format markdown``.

Writes ``OUT/comment.md`` (the comment body), ``OUT/plans/{base,head}/<stack>.json``
and ``OUT/diffs/<stack>.md``. Exits 1 when a head plan fails (a policy
violation or an error), after writing everything, so the check fails while
the comment still explains why. Standard library only: it runs before anything
is installed as well as after.

    python scripts/ci/preview_diff.py --base base --head head --out preview
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

STACK_DIR = "stacks"
COMMAND_TIMEOUT = 900
OUTPUT_TAIL = 40
# GitHub refuses comments over 65,536 characters; past this, each stack shows its summary and table only.
COMMENT_LIMIT = 60_000


@dataclass(frozen=True)
class Planned:
    """One side of one stack: where its plan is, and what to tell the reader about it."""

    path: Path
    note: str = ""
    failed: bool = False


def stacks_in(checkout: Path) -> set[str]:
    """The stacks a checkout declares: ``stacks/Pulumi.<stack>.yaml``."""
    return {p.name[len("Pulumi.") : -len(".yaml")] for p in (checkout / STACK_DIR).glob("Pulumi.*.yaml")}


def write_empty_plan(path: Path, stack: str) -> None:
    """A plan with no resources: what a stack that does not exist deploys."""
    path.write_text(json.dumps({"stack": stack, "resources": []}, indent=2) + "\n")


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[-OUTPUT_TAIL:])


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def has_plan_command(mlops: Path, checkout: Path) -> bool:
    """Whether this revision's ``mlops`` has a ``plan`` command (revisions before it do not)."""
    return mlops.exists() and _run([str(mlops), "plan", "--help"], checkout).returncode == 0


def plan(side: str, checkout: Path, mlops: Path, stack: str, out: Path) -> Planned:
    """Plan ``stack`` as ``checkout`` declares it; an empty plan when it cannot."""
    path = out / "plans" / side / f"{stack}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if stack not in stacks_in(checkout):
        write_empty_plan(path, stack)
        return Planned(path, f"no stack `{stack}` at the {side}: compared with an empty plan")
    if side == "base" and not has_plan_command(mlops, checkout):
        write_empty_plan(path, stack)
        return Planned(path, "the base has no `mlops plan`: compared with an empty plan")
    result = _run([str(mlops), "plan", "--stack", stack, "--out", str(path.resolve())], checkout)
    if result.returncode == 0:
        return Planned(path)
    output = _tail(result.stdout + "\n" + result.stderr)
    if not path.exists():
        write_empty_plan(path, stack)
        note = f"`mlops plan` failed at the {side} (exit {result.returncode}), so it is shown as empty"
        return Planned(path, f"{note}:\n\n```\n{output}\n```", True)
    # The plan was written but the command failed: a policy violation, which the diff reports.
    return Planned(path, f"`mlops plan` at the {side} exited {result.returncode}:\n\n```\n{output}\n```", True)


def diff(head_mlops: Path, head: Path, base_plan: Path, head_plan: Path) -> tuple[str, bool]:
    """The head's ``mlops diff --format markdown`` of two plans, and whether it worked."""
    result = _run([str(head_mlops), "diff", str(base_plan.resolve()), str(head_plan.resolve()), "--format", "markdown"], head)
    if result.returncode != 0:
        return f"`mlops diff` failed (exit {result.returncode}):\n\n```\n{_tail(result.stderr or result.stdout)}\n```\n", False
    return result.stdout, True


def _revision(checkout: Path) -> str:
    result = _run(["git", "rev-parse", "--short", "HEAD"], checkout)
    return result.stdout.strip() if result.returncode == 0 else checkout.name


def _section(stack: str, text: str, notes: list[str]) -> list[str]:
    """One stack's part of the comment: the diff's own heading (or one made here), the notes, the rest of the diff."""
    quoted = [f"> {line}" if line else ">" for note in notes for line in note.splitlines()]
    lines = text.strip().splitlines()
    heading = lines.pop(0) if lines and lines[0].startswith("#") else f"### Stack `{stack}`"
    while lines and not lines[0].strip():
        lines.pop(0)
    return ["", heading, *(["", *quoted] if quoted else []), "", *lines]


def _compact(text: str) -> str:
    """A diff without its per-resource details: the summary, the policy result and the table."""
    head, cut, _ = text.partition("\n<details>")
    return head.rstrip() + ("\n\nPer-resource details are in this run's `preview-diff` artifact (`diffs/`).\n" if cut else "\n")


def preview(base: Path, head: Path, out: Path, base_mlops: Path, head_mlops: Path) -> bool:
    """Plan and diff every stack; write the comment. Returns whether every head plan and diff succeeded."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "diffs").mkdir(exist_ok=True)
    stacks = sorted(stacks_in(base) | stacks_in(head))
    intro = [
        "## Offline plan: what this pull request changes",
        "",
        f"Each stack planned at the base (`{_revision(base)}`) and the head (`{_revision(head)}`) with `mlops plan` "
        "(the Pulumi program under the SDK's mocks: no cloud, no credentials), compared with `mlops diff`.",
    ]
    ok = True
    results: list[tuple[str, str, list[str]]] = []
    for stack in stacks:
        before = plan("base", base, base_mlops, stack, out)
        after = plan("head", head, head_mlops, stack, out)
        text, diffed = diff(head_mlops, head, before.path, after.path)
        ok = ok and diffed and not after.failed
        (out / "diffs" / f"{stack}.md").write_text(text)
        results.append((stack, text, [planned.note for planned in (before, after) if planned.note]))
    if not stacks:
        intro += ["", f"No stacks under `{STACK_DIR}/` at either revision."]
    comment = "\n".join(intro + [line for stack, text, notes in results for line in _section(stack, text, notes)]).strip() + "\n"
    if len(comment) > COMMENT_LIMIT:
        compact = [line for stack, text, notes in results for line in _section(stack, _compact(text), notes)]
        comment = "\n".join(intro + compact).strip() + "\n"
    (out / "comment.md").write_text(comment)
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit 1 when a head plan or a diff failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", type=Path, required=True, help="checkout of the base revision")
    parser.add_argument("--head", type=Path, required=True, help="checkout of the head revision")
    parser.add_argument("--out", type=Path, required=True, help="directory for the plans, diffs and comment.md")
    parser.add_argument("--base-mlops", type=Path, help="the base's mlops (default: BASE/.venv/bin/mlops)")
    parser.add_argument("--head-mlops", type=Path, help="the head's mlops (default: HEAD/.venv/bin/mlops)")
    args = parser.parse_args(argv)
    base_mlops = args.base_mlops or args.base / ".venv" / "bin" / "mlops"
    head_mlops = args.head_mlops or args.head / ".venv" / "bin" / "mlops"
    ok = preview(args.base, args.head, args.out, base_mlops.resolve(), head_mlops.resolve())
    print(f"wrote {args.out / 'comment.md'}" + ("" if ok else " (a head plan or a diff failed; see the comment)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
