"""``mlops graph``: draw a platform from its spec, or from a stack with the resources it creates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.review.graph.build import platform_graph
from mlops_dsl.review.graph.model import PlatformGraph
from mlops_dsl.review.graph.render import GraphvizMissingError, render_image, to_mermaid
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of

FORMATS = ("mermaid", "svg", "png")
_SOURCE = "mlops graph"


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``mlops graph`` on the CLI's subcommands."""
    graph = commands.add_parser(
        "graph",
        help="draw the platform: sources, feature store, training, registry, serving, monitors, alerts and the retraining loop",
        description="Draw one environment of a platform. With --stack, also the resources each part creates "
        "(the stack's program run under Pulumi's mocks: no cloud, no credentials). Mermaid text by default; "
        "SVG and PNG need Graphviz's dot.",
    )
    graph.add_argument("spec", nargs="?", metavar="SPEC_FILE", help="a Python file that declares a Platform (instead of --stack)")
    graph.add_argument("--stack", metavar="NAME", help="a stack under stacks/: its environment and the resources it creates")
    graph.add_argument("--env", metavar="NAME", help="the environment of SPEC_FILE to draw (needed when it declares several)")
    graph.add_argument("--format", choices=FORMATS, default="mermaid", help="mermaid (default), svg or png")
    graph.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    graph.set_defaults(handler=run)


def build(args: argparse.Namespace) -> PlatformGraph:
    """The graph the arguments ask for."""
    if args.stack:
        if args.spec or args.env:
            raise SpecError(
                [Problem("", "--stack draws the stack's own spec and environment; give either --stack or SPEC_FILE", source=_SOURCE)]
            )
        from mlops_dsl.loading.stack import find_project, load_stack
        from mlops_dsl.review.graph.resources import stack_resources

        project = find_project()
        spec = load_stack(project, args.stack)
        return platform_graph(spec, stack_resources(project, args.stack, spec), stack=args.stack)
    if not args.spec:
        raise SpecError([Problem("", "give --stack NAME, or SPEC_FILE (with --env NAME)", source=_SOURCE)])
    return platform_graph(_environment(args.spec, args.env))


def _environment(spec_file: str, environment: str | None) -> ResolvedSpec:
    resolved = load_platform(spec_file, environment=environment)
    if len(resolved) > 1:
        raise SpecError(
            [Problem("", got_allowed(None, f"--env {one_of(set(resolved))}", "the spec declares several environments"), source=_SOURCE)]
        )
    return next(iter(resolved.values()))


def run(args: argparse.Namespace) -> int:
    """Draw the graph and write it where asked; returns the exit code."""
    graph = build(args)
    if args.format == "mermaid":
        data = to_mermaid(graph).encode()
    else:
        if args.out is None and args.format == "png" and sys.stdout.isatty():
            raise SpecError([Problem("", "a PNG is not for a terminal; give --out FILE or redirect the output", source=_SOURCE)])
        try:
            data = render_image(graph, args.format)
        except GraphvizMissingError as error:
            raise SpecError([Problem("", str(error), source=_SOURCE)]) from None
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(args.out).write_bytes(data)
    except OSError as error:
        raise SpecError([Problem("", f"cannot write the graph: {error.strerror}", source=args.out)]) from None
    print(f"wrote {args.out}")
    return 0


__all__ = ["FORMATS", "add_command", "build", "run"]
