"""The ``mlops`` command line tool.

Exit codes: 0 when all is well, 2 for any mistake of the user's (a spec, a
stack, an argument), each reported as one line that names the file, the field
path, what was given and what is allowed. Never a traceback for those.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from mlops_dsl import __version__
from mlops_dsl.contracts.environment import ENVIRONMENT_ENV, MODEL_ENV, RUN_ID_ENV, SPEC_ENV, STATE_DIR_ENV, TRIGGER_REASON_ENV
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.loading.schema import json_schema, markdown_reference
from mlops_dsl.loading.stack import find_project, load_stack
from mlops_dsl.spec.problems import Problem, SpecError

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus exit code 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(USAGE_ERROR)


def port_number(text: str) -> int:
    """argparse type of a TCP port: 1 to 65535 (uvicorn would log that it serves on 99999, then hang)."""
    allowed = "a port number from 1 to 65535"
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"got {port}; allowed: {allowed}")
    return port


def positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    """argparse type of a number above zero: a count, a size in bytes or seconds between rounds."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {noun} above 0") from None
        if not value > 0:  # also refuses nan
            raise argparse.ArgumentTypeError(f"got {text}; allowed: {noun} above 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def _summary(resolved: ResolvedSpec) -> str:
    platform = resolved.platform
    monitors = sum(len(m.monitors) for m in platform.models)
    plural = "" if len(platform.models) == 1 else "s"
    return (
        f"valid: target {resolved.target.kind}, stage {resolved.stage}, {len(platform.models)} model{plural}, "
        f"{len(platform.feature_store.feature_views)} feature views, {monitors} monitors"
    )


def _validate(args: argparse.Namespace) -> int:
    resolved: list[tuple[str, ResolvedSpec]] = []
    if args.stack or (args.spec is None and args.env is None):
        project = find_project()
        stacks = [args.stack] if args.stack else project.stack_names()
        if not stacks:
            raise SpecError([Problem("", "no stack files to validate; give a SPEC_FILE or add stacks", source=str(project.stack_dir))])
        problems: list[Problem] = []
        for stack in stacks:
            try:
                spec = load_stack(project, stack, Path(args.spec) if args.spec else None)
            except SpecError as error:
                problems += error.problems
                continue
            resolved.append((f"stack {stack}", spec))
        if problems:
            raise SpecError(problems)
    else:
        if args.spec is None:
            raise SpecError([Problem("", "--env needs a SPEC_FILE (or use --stack)", source="mlops validate")])
        for name, spec in load_platform(args.spec, environment=args.env).items():
            resolved.append((f"{spec.source} [{name}]", spec))
    for label, spec in resolved:
        print(f"{label}: {_summary(spec)}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    text = markdown_reference() if args.format == "markdown" else json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text)
        except OSError as error:
            raise SpecError([Problem("", f"cannot write the schema: {error.strerror}", source=args.out)]) from None
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``mlops`` argument parser with every subcommand."""
    parser = _Parser(prog="mlops", description="Describe an MLOps platform as a typed Python spec; validate and deploy it.")
    parser.add_argument("--version", action="version", version=f"mlops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    validate = commands.add_parser(
        "validate",
        help="check a spec (every environment) or a stack; exit 2 with one line per problem",
        description="With no arguments, validate every stack of the project. With SPEC_FILE, validate every "
        "environment the spec declares (or --env NAME). With --stack, validate what that stack deploys.",
    )
    validate.add_argument("spec", nargs="?", metavar="SPEC_FILE", help="a Python file that declares a Platform")
    validate.add_argument("--stack", metavar="NAME", help="a stack under stacks/ (its spec, environment and overrides)")
    validate.add_argument("--env", metavar="NAME", help="validate only this environment of SPEC_FILE")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec, for editors (or its Markdown reference)")
    schema.add_argument("--format", choices=("json", "markdown"), default="json", help="JSON Schema (default) or the Markdown reference")
    schema.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    schema.set_defaults(handler=_schema)
    _add_local(commands)
    _add_services(commands)
    _add_plan(commands)
    _add_data(commands)
    from mlops_dsl.review.graph.command import add_command as add_graph

    add_graph(commands)
    return parser


def _local_platform(args: argparse.Namespace) -> Any:
    from mlops_dsl.local.up import resolve

    return resolve(args.spec, args.env, args.state_dir)


def _up(args: argparse.Namespace) -> int:
    from mlops_dsl.local.processes import ServiceFailedError
    from mlops_dsl.local.up import UpFailedError, up

    local = _local_platform(args)
    try:
        up(local, say=lambda line: print(line, flush=True))
    except (UpFailedError, ServiceFailedError) as error:
        print(f"mlops up: {error}", file=sys.stderr)
        return 1
    return 0


def _down(args: argparse.Namespace) -> int:
    from mlops_dsl.local.up import down

    down(_local_platform(args), say=lambda line: print(line, flush=True))
    return 0


def _status(args: argparse.Namespace) -> int:
    from mlops_dsl.local.status import collect, render

    status = collect(_local_platform(args))
    print(json.dumps(status, indent=2, default=str) if args.json else render(status))
    return 0


def _add_local(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "spec", nargs="?", metavar="SPEC_FILE", help="a Python file that declares a Platform (default: the churn example)"
        )
        parser.add_argument("--env", metavar="NAME", help="a local environment of the spec (default: its only local one)")
        parser.add_argument("--state-dir", metavar="DIR", help="state directory (default: the target's state_dir/<platform>-<env>)")

    up = commands.add_parser(
        "up",
        help="run the platform on this machine: feature store, first training, model server, Prometheus, Alertmanager, "
        "drift monitor, retraining trigger",
        description="Bring a local environment up (no cloud, no cluster) and print its URLs. Run again to resume.",
    )
    common(up)
    up.set_defaults(handler=_up)
    status = commands.add_parser("status", help="services, models and versions, retraining runs and firing alerts of a local platform")
    common(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=_status)
    down = commands.add_parser("down", help="stop every process `mlops up` started (the state directory stays)")
    common(down)
    down.set_defaults(handler=_down)


def _service(name: str) -> Callable[[argparse.Namespace], int]:
    """A handler that imports its (heavy) service module only when run."""

    def handler(args: argparse.Namespace) -> int:
        from mlops_dsl.runtime import services

        result: int = getattr(services, name)(args)
        return result

    return handler


def _add_services(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def common(parser: argparse.ArgumentParser, port: int | None) -> None:
        parser.add_argument("--spec", metavar="FILE", help=f"the platform spec (default: ${SPEC_ENV})")
        parser.add_argument("--env", metavar="NAME", help=f"the environment (default: ${ENVIRONMENT_ENV})")
        parser.add_argument("--state-dir", metavar="DIR", help=f"state directory (default: ${STATE_DIR_ENV} or the target's)")
        parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        if port is not None:
            parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
            parser.add_argument("--port", type=port_number, default=port, help=f"port to listen on (default: {port})")

    serve = commands.add_parser("serve", help="run the model server (Open Inference Protocol v2, /metrics)")
    common(serve, 8080)
    serve.add_argument("--model", action="append", help="a model to serve (repeatable; default: every online model)")
    serve.add_argument(
        "--role",
        choices=("all", "stable", "canary"),
        default="all",
        help="all: stable version plus the canary's share (default); stable or canary: one side of a router's split",
    )
    serve.add_argument("--poll-interval", type=positive(float), default=2.0, help="seconds between registry checks for new versions")
    serve.add_argument("--max-body-bytes", type=positive(int), default=8 * 1024 * 1024, help="largest request body accepted")
    serve.set_defaults(handler=_service("serve"))

    monitor = commands.add_parser("monitor", help="run the drift and quality monitors and the canary controller")
    common(monitor, 8081)
    monitor.add_argument("--prometheus-url", default="http://127.0.0.1:9090", help="Prometheus to read live histograms from")
    monitor.add_argument("--interval", type=positive(float), default=15.0, help="seconds between evaluations")
    monitor.add_argument("--min-samples", type=positive(int), default=50, help="fewest live observations to score drift on")
    monitor.set_defaults(handler=_service("monitor"))

    trigger = commands.add_parser("trigger", help="run the retraining trigger (Alertmanager webhook)")
    common(trigger, 8082)
    trigger.add_argument("--backend", choices=("local", "kubernetes", "sagemaker"), default="local", help="where runs execute")
    trigger.add_argument("--interval", type=positive(float), default=5.0, help="seconds between checks of runs, schedules and new data")
    trigger.add_argument(
        "--trainer-command", nargs="+", metavar="ARG", help="local backend: the command to run ({model} {reason} {run_id} {result})"
    )
    trigger.add_argument("--job-templates", metavar="DIR", help="kubernetes backend: directory of <model>.yaml Job templates")
    trigger.add_argument("--namespace", help="kubernetes backend: namespace for Jobs (default: $POD_NAMESPACE)")
    trigger.add_argument("--pipeline", action="append", metavar="MODEL=NAME", help="sagemaker backend: pipeline of a model")
    trigger.set_defaults(handler=_service("trigger"))

    train = commands.add_parser("train", help="run one training run of one model")
    common(train, None)
    train.add_argument("--model", required=True, help="the model to train")
    train.add_argument("--reason", help=f"why this run happens (default: ${TRIGGER_REASON_ENV} or 'manual')")
    train.add_argument("--run-id", help=f"the run's id (default: ${RUN_ID_ENV} or a timestamp)")
    train.add_argument("--result", metavar="FILE", help="write the run's result here as JSON")
    train.set_defaults(handler=_service("train"))

    features = commands.add_parser("features", help="the feature store: apply definitions, materialize, or serve online features")
    common(features, 6566)
    features.add_argument("action", choices=("apply", "materialize", "serve"), help="what to do")
    features.set_defaults(handler=_service("features"))

    batch = commands.add_parser("batch", help="score a data set with a model's production version")
    common(batch, None)
    batch.add_argument("--model", required=True, help="the model to score with")
    batch.add_argument("--input", help="parquet data to score (default: the model's serving.batch.input)")
    batch.add_argument("--output", help="where to write the scores (default: serving.batch.output)")
    batch.set_defaults(handler=_service("batch"))

    sagemaker = commands.add_parser("sagemaker", help="a step of the SageMaker training pipeline (runs inside SageMaker)")
    common(sagemaker, None)
    sagemaker.add_argument("step", choices=("prepare", "train", "evaluate"), help="which step")
    sagemaker.add_argument("--model", help=f"the model (default: ${MODEL_ENV})")
    sagemaker.add_argument("--root", help="the step's local directory (default: SageMaker's /opt/ml layout)")
    sagemaker.set_defaults(handler=_service("sagemaker"))


POLICY_VIOLATION = 1


def _plan(args: argparse.Namespace) -> int:
    from mlops_dsl.review.plan import plan_stack, render, summary
    from mlops_dsl.review.policy.gates import render_report

    plan = plan_stack(find_project(), args.stack)
    if args.out:
        try:
            Path(args.out).write_text(render(plan))
        except OSError as error:
            raise SpecError([Problem("", f"cannot write the plan: {error.strerror}", source=args.out)]) from None
        print(f"wrote {args.out}: {sum(1 for r in plan['resources'] if r['custom'])} resources of stack {args.stack}")
        print(render_report(plan["policy"]))
    else:
        print(summary(plan))
    return 0 if plan["policy"]["passed"] else POLICY_VIOLATION


def _diff(args: argparse.Namespace) -> int:
    from mlops_dsl.review.diff import diff_plans, load_plan, render_markdown, render_text

    result = diff_plans(load_plan(args.base), load_plan(args.head))
    sys.stdout.write(render_markdown(result) if args.format == "markdown" else render_text(result) + "\n")
    return 0


def _add_plan(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plan = commands.add_parser(
        "plan",
        help="the offline plan of a stack (no Pulumi CLI, no credentials), checked against the policy rules; exit 1 on a violation",
        description="Run the stack's Pulumi program under mocks and list every resource, its inputs (secrets as [secret], "
        "values known only after deployment as (known after apply)) and the rendered artifacts. Every plan is checked "
        "against the policy rules; a violation not waived in the stack's mlops:waivers exits 1.",
    )
    plan.add_argument("--stack", required=True, metavar="NAME", help="a stack under stacks/")
    plan.add_argument("--out", metavar="FILE", help="write the plan as JSON (byte-identical for the same inputs) instead of a summary")
    plan.set_defaults(handler=_plan)
    diff = commands.add_parser(
        "diff",
        help="what a change does: resources to create, update, replace and delete between two plans",
        description="Compare two plans written by `mlops plan --out` (BASE before the change, HEAD after).",
    )
    diff.add_argument("base", metavar="BASE.json", help="the plan before the change")
    diff.add_argument("head", metavar="HEAD.json", help="the plan after the change")
    diff.add_argument("--format", choices=("text", "markdown"), default="text", help="text (default) or Markdown for a pull request")
    diff.set_defaults(handler=_diff)


def _data_check(args: argparse.Namespace) -> int:
    from mlops_dsl.local.up import DEFAULT_SPEC
    from mlops_dsl.runtime.data_check import run as check_data

    if args.spec is None and not DEFAULT_SPEC.exists():
        raise SpecError([Problem("SPEC_FILE", "got None; allowed: a platform spec file (the churn example is not installed here)")])
    return check_data(Path(args.spec) if args.spec else DEFAULT_SPEC, args.env, args.data_dir, say=print)


def _add_data(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = commands.add_parser("data", help="the sources' data files: `mlops data check` checks a data folder against the spec")
    actions = data.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    check = actions.add_parser(
        "check",
        help="check a data folder against the spec: files, columns, types, time zones, labels after features; exit 2 on a problem",
        description="For every source: how many files of its format and rows it has; then one line per problem (a missing "
        "column, a value that does not fit its type, a time without a time zone, empty keys, labels stamped before "
        "every feature row of their entity). The folder is --data-dir, or where `mlops up` keeps a local environment's "
        "data: <state_dir>/<platform>-<env>/data.",
    )
    check.add_argument("spec", nargs="?", metavar="SPEC_FILE", help="a Python file that declares a Platform (default: the churn example)")
    check.add_argument("--env", metavar="NAME", help="the environment (default: the spec's only local one, or its only one)")
    check.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the data root, with each source's files under its path (default: <state_dir>/<platform>-<env>/data)",
    )
    check.set_defaults(handler=_data_check)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlops`` command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        return handler(args)
    except SpecError as error:
        for problem in error.problems:
            print(problem.render(), file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("mlops: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("MLOPS_DEBUG"):
            traceback.print_exc()
        print(f"mlops: internal error: {type(error).__name__}: {error} (set MLOPS_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """Console-script entry point."""
    code = main()
    # The process ends here. Python's shutdown runs full cycle-collection passes over whatever is
    # still alive, only to free memory the exit frees anyway (after an AWS plan, the Pulumi provider
    # SDKs and the recorded run: 0.25 s of 1.35 s for churn-prod). Those passes skip frozen objects.
    gc.freeze()
    raise SystemExit(code)
