"""The GitHub Actions workflows: actionlint (with shellcheck on every `run:`), and the rules that keep them safe.

- The pull-request plan job runs forks' code, so it has no secrets and a read-only token.
- The comment workflow has the only write token a fork's pull request can cause, so it runs nothing
  from the pull request: no checkout, only the artifact, and it may write pull requests only.
- The real `pulumi preview` has credentials, so never for a fork, and only where the repository opted in.
- Delivery goes dev, then staging, then prod, each behind its GitHub environment, one delivery at a time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def _workflows() -> dict[str, dict[str, Any]]:
    return {path.name: _load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in _steps(job) if str(step.get("uses", "")).startswith(action + "@")]


def _text(value: Any) -> str:
    return json.dumps(value)


def _writes(permissions: dict[str, str]) -> set[str]:
    return {scope for scope, level in permissions.items() if level == "write"}


# --- actionlint -----------------------------------------------------------------------------------


def _actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    actionlint = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    assert actionlint and shellcheck, "actionlint and shellcheck come with the test extra (pip install -e '.[test]')"
    files = sorted(str(p) for p in (directory / ".github" / "workflows").glob("*.yml"))
    return subprocess.run(
        [actionlint, "-no-color", "-shellcheck", shellcheck, *files],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_finds_nothing() -> None:
    result = _actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The lint is live: an unknown input, an undefined job in `needs` and a shell mistake are reported."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    broken = (WORKFLOWS / "preview.yml").read_text()
    broken = broken.replace("command: preview", "comand: preview").replace("needs: stacks", "needs: stack-list")
    broken = broken.replace('echo "$PR_NUMBER" > preview/pr-number', "echo $PR_NUMBER > preview/pr-number")
    (tmp_path / ".github" / "workflows" / "preview.yml").write_text(broken)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = _actionlint(tmp_path)
    assert result.returncode == 1
    assert 'input "comand" is not defined' in result.stdout
    assert 'job "pulumi-preview" needs job "stack-list" which does not exist' in result.stdout
    assert "SC2086" in result.stdout


# --- every workflow -------------------------------------------------------------------------------


def test_every_workflow_denies_by_default_and_every_job_asks_for_its_permissions() -> None:
    for name, workflow in _workflows().items():
        assert workflow.get("permissions") == {}, name
        for job_id, job in workflow["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{name}: job {job_id} must declare its permissions"


def test_actions_are_pinned_to_a_major_version() -> None:
    for name, workflow in _workflows().items():
        for job_id, job in workflow["jobs"].items():
            for step in _steps(job):
                uses = step.get("uses")
                if uses is None:
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", uses), f"{name}: {job_id}: {uses} is not pinned"
            if "uses" in job:  # a reusable workflow of this repository
                assert job["uses"].startswith("./.github/workflows/"), f"{name}: {job_id}"


def test_no_checkout_keeps_the_token() -> None:
    for name, workflow in _workflows().items():
        for job_id, job in workflow["jobs"].items():
            for step in _uses(job, "actions/checkout"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {job_id}"


def test_no_privileged_trigger_runs_the_pull_requests_code() -> None:
    """`pull_request_target` and `workflow_run` runs have a write token: they must not check out the head."""
    for name, workflow in _workflows().items():
        triggers = workflow["on"]
        if "pull_request_target" in triggers:
            for job_id, job in workflow["jobs"].items():
                for step in _uses(job, "actions/checkout"):
                    ref = str(step.get("with", {}).get("ref", ""))
                    assert "pull_request.head" not in ref and "head_ref" not in ref and "refs/pull" not in ref, f"{name}: {job_id}"
        if "workflow_run" in triggers:
            for job_id, job in workflow["jobs"].items():
                assert not _uses(job, "actions/checkout"), f"{name}: {job_id} checks out code in a workflow_run run"
                assert not any("run" in step for step in _steps(job)), f"{name}: {job_id} runs shell in a workflow_run run"


# --- pull requests --------------------------------------------------------------------------------


def test_the_pull_request_plan_job_has_no_secrets_and_reads_only() -> None:
    preview = _load("preview.yml")
    assert set(preview["on"]) == {"pull_request"}
    job = preview["jobs"]["offline-plan"]
    assert job["permissions"] == {"contents": "read"}
    assert "secrets." not in _text(job) and "github.token" not in _text(job)
    commands = " ".join(step.get("run", "") for step in _steps(job))
    assert "--base base --head head --out preview" in commands
    assert [s["with"]["name"] for s in _uses(job, "actions/upload-artifact")] == ["preview-diff"]
    checkouts = _uses(job, "actions/checkout")
    assert [c["with"]["path"] for c in checkouts] == ["head", "base"]


def test_the_comment_workflow_may_write_pull_requests_only_and_reads_the_artifact() -> None:
    preview = _load("preview.yml")
    comment = _load("preview-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": [preview["name"]], "types": ["completed"]}}
    [job] = comment["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert _writes(job["permissions"]) == {"pull-requests"}
    [download] = _uses(job, "actions/download-artifact")
    assert download["with"]["name"] == "preview-diff"
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    [script] = _uses(job, "actions/github-script")
    # The artifact is untrusted: the number is checked against the run's own head commit.
    assert "workflow_run.head_sha" in _text(script) and "pull.head.sha" in script["with"]["script"]


def test_real_pulumi_preview_is_opt_in_and_never_for_forks() -> None:
    jobs = _load("preview.yml")["jobs"]
    for job_id in ("stacks", "pulumi-preview"):
        condition = jobs[job_id]["if"]
        assert "vars.PULUMI_PREVIEW == 'true'" in condition, job_id
        assert "github.event.pull_request.head.repo.full_name == github.repository" in condition, job_id
    job = jobs["pulumi-preview"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    [pulumi] = _uses(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True
    assert "matrix.stack" in pulumi["with"]["stack-name"] and pulumi["with"]["work-dir"] == "."
    [aws] = _uses(job, "aws-actions/configure-aws-credentials")
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]


# --- delivery -------------------------------------------------------------------------------------


def test_delivery_tests_then_publishes_then_deploys_dev_staging_prod_in_order() -> None:
    deliver = _load("deliver.yml")
    assert deliver["on"]["push"] == {"branches": ["main"]}
    assert deliver["concurrency"]["cancel-in-progress"] is False
    jobs = deliver["jobs"]
    assert ".ci/run" in [step.get("run") for step in _steps(jobs["test"])]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["image"]["needs"] == "test"
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}
    [build] = _uses(jobs["image"], "docker/build-push-action")
    assert build["with"]["push"] is True and build["with"]["context"] == "."
    deploys = {job_id: job for job_id, job in jobs.items() if job.get("uses") == "./.github/workflows/deploy-environment.yml"}
    order = [job["with"]["environment"] for job in deploys.values()]
    assert order == ["dev", "staging", "prod"]
    by_environment = {job["with"]["environment"]: (job_id, job) for job_id, job in deploys.items()}
    assert set(by_environment["dev"][1]["needs"]) == {"test", "image"}
    assert by_environment["dev"][0] in by_environment["staging"][1]["needs"]
    assert by_environment["staging"][0] in by_environment["prod"][1]["needs"]
    for environment, (_, job) in by_environment.items():
        assert job["with"]["stacks"] == f"${{{{ needs.test.outputs.{environment} }}}}"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    for later in ("staging", "prod"):
        assert "!cancelled()" in by_environment[later][1]["if"] and "needs.image.result == 'success'" in by_environment[later][1]["if"]


def test_each_stage_is_deployed_behind_its_environment_one_update_per_stack_at_a_time() -> None:
    deploy = _load("deploy-environment.yml")
    assert set(deploy["on"]) == {"workflow_call"}
    [job] = deploy["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": False}
    assert job["strategy"]["fail-fast"] is False
    assert _writes(job["permissions"]) == {"id-token"}
    [pulumi] = _uses(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "up"


def test_stacks_by_stage_reads_each_stacks_stage_from_its_spec() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/ci/stacks_by_stage.py"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.splitlines() == ['dev=["churn-dev"]', 'staging=["churn-staging"]', 'prod=["churn-prod", "retail-prod"]']


# --- the pull-request diff script, with stand-in `mlops` commands -------------------------------------

_FAKE_MLOPS = textwrap.dedent(
    """\
    #!{python}
    # A stand-in for one revision's `mlops`: plan writes the stack's resources; diff names both plans.
    import json, sys
    from pathlib import Path
    args = sys.argv[1:]
    revision = {revision!r}
    if args[:1] == ["plan"]:
        if not {has_plan}:
            sys.exit(2)
        if args[1:] == ["--help"]:
            sys.exit(0)
        stack, out = args[args.index("--stack") + 1], args[args.index("--out") + 1]
        if stack == "broken" and revision == "head":
            print("churn: secret missing", file=sys.stderr)
            sys.exit(2)
        Path(out).write_text(json.dumps({{"stack": stack, "resources": [{{"type": "t", "name": revision, "inputs": {{}}}}]}}))
        sys.exit(1 if stack == "violates" and revision == "head" else 0)
    if args[:1] == ["diff"]:
        base, head = (json.loads(Path(p).read_text()) for p in args[1:3])
        assert args[3:] == ["--format", "markdown"], args
        names = lambda plan: ",".join(r["name"] for r in plan["resources"]) or "empty"
        print(f"### diff of {{head['stack']}}", "", f"diff {{names(base)}} -> {{names(head)}}", sep="\\n")
        if head["stack"] == "huge":
            print("", "<details><summary>everything</summary>", "", "x" * 70000, "</details>", sep="\\n")
        sys.exit(0)
    sys.exit(2)
    """
)


def _revision(tmp_path: Path, name: str, stacks: list[str], has_plan: bool = True) -> tuple[Path, Path]:
    checkout = tmp_path / name
    (checkout / "stacks").mkdir(parents=True)
    for stack in stacks:
        (checkout / "stacks" / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    mlops = checkout / "mlops"
    mlops.write_text(_FAKE_MLOPS.format(python=sys.executable, revision=name, has_plan=has_plan))
    mlops.chmod(0o755)
    return checkout, mlops


def _preview(tmp_path: Path, base: tuple[Path, Path], head: tuple[Path, Path]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts/ci/preview_diff.py"), "--base", str(base[0]), "--head", str(head[0])]
    command += ["--out", str(tmp_path / "preview"), "--base-mlops", str(base[1]), "--head-mlops", str(head[1])]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "GIT_DIR": "/nonexistent"})


def test_preview_diffs_every_stack_and_an_absent_stack_plans_as_empty(tmp_path: Path) -> None:
    base = _revision(tmp_path, "base", ["churn-dev", "old"])
    head = _revision(tmp_path, "head", ["churn-dev", "new"])
    result = _preview(tmp_path, base, head)
    assert result.returncode == 0, result.stderr
    comment = (tmp_path / "preview" / "comment.md").read_text()
    assert comment.startswith("## Offline plan: what this pull request changes\n")
    assert re.findall(r"^### diff of (.+)$", comment, re.M) == ["churn-dev", "new", "old"]  # the diff's own headings
    assert "diff base -> head" in comment  # churn-dev, planned on both sides
    assert "diff empty -> head" in comment and "> no stack `new` at the base: compared with an empty plan" in comment
    assert "diff base -> empty" in comment and "> no stack `old` at the head: compared with an empty plan" in comment
    empty = json.loads((tmp_path / "preview" / "plans" / "base" / "new.json").read_text())
    assert empty == {"stack": "new", "resources": []}
    assert (tmp_path / "preview" / "diffs" / "churn-dev.md").read_text() == "### diff of churn-dev\n\ndiff base -> head\n"
    # Notes go under the stack's heading, before its diff.
    assert "### diff of new\n\n> no stack `new` at the base" in comment


def test_a_comment_too_long_for_github_keeps_each_stacks_summary_and_drops_the_details(tmp_path: Path) -> None:
    base = _revision(tmp_path, "base", ["churn-dev", "huge"])
    head = _revision(tmp_path, "head", ["churn-dev", "huge"])
    assert _preview(tmp_path, base, head).returncode == 0
    comment = (tmp_path / "preview" / "comment.md").read_text()
    assert len(comment) < 60_000 and "<details>" not in comment
    assert comment.count("diff base -> head") == 2
    assert comment.count("Per-resource details are in this run's `preview-diff` artifact") == 1  # only where details were cut
    assert len((tmp_path / "preview" / "diffs" / "huge.md").read_text()) > 70_000


def test_preview_fails_after_writing_the_comment_when_a_head_plan_fails(tmp_path: Path) -> None:
    base = _revision(tmp_path, "base", ["broken", "violates"])
    head = _revision(tmp_path, "head", ["broken", "violates"])
    result = _preview(tmp_path, base, head)
    assert result.returncode == 1
    comment = (tmp_path / "preview" / "comment.md").read_text()
    assert "`mlops plan` failed at the head (exit 2), so it is shown as empty" in comment and "churn: secret missing" in comment
    assert "diff base -> empty" in comment
    assert "`mlops plan` at the head exited 1" in comment and "diff base -> head" in comment  # a policy violation: still diffed


def test_preview_of_a_base_without_mlops_plan_compares_with_empty(tmp_path: Path) -> None:
    base = _revision(tmp_path, "base", ["churn-dev"], has_plan=False)
    head = _revision(tmp_path, "head", ["churn-dev"])
    result = _preview(tmp_path, base, head)
    assert result.returncode == 0, result.stderr
    comment = (tmp_path / "preview" / "comment.md").read_text()
    assert "> the base has no `mlops plan`: compared with an empty plan" in comment and "diff empty -> head" in comment
