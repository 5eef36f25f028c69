"""`mlops graph`: the platform as Mermaid, SVG and PNG, with the resources a stack creates."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.loading.loader import ResolvedSpec, load_platform
from mlops_dsl.review.graph import platform_graph, to_mermaid
from mlops_dsl.review.graph.model import PlatformGraph
from mlops_dsl.review.graph.resources import PART_OF_COMPONENT, resource_groups, short_type
from mlops_dsl.review.mocks import MockRun
from mlops_dsl.spec.monitoring import ModelQuality

ROOT = Path(__file__).resolve().parents[1]
MERMAID_PARSER = ROOT / "tools" / "mermaid-parse"
CHURN = ROOT / "examples/churn/platform.py"
RETAIL = ROOT / "examples/retail/platform.py"

# --- a small Mermaid reader: every line must be one statement of the forms the renderer writes -----

_NODE = re.compile(r'^(?P<id>\w+)(?P<open>\[\(|\(\[|\[\[|\[/|\{\{|\[|\()"(?P<label>[^"]*)"(?P<close>\)\]|\]\)|\]\]|/\]|\}\}|\]|\))$')
_EDGE = re.compile(r'^(?P<source>\w+) (?P<arrow>-->|-\.->|==>)(?:\|"(?P<label>[^"]*)"\|)? (?P<target>\w+)$')
_SUBGRAPH = re.compile(r'^subgraph (?P<id>\w+) \["(?P<title>[^"]*)"\]$')
_SHAPES = {"[(": ")]", "([": "])", "[[": "]]", "[/": "/]", "{{": "}}", "[": "]", "(": ")"}


@dataclass
class Mermaid:
    """What a Mermaid flowchart declares."""

    nodes: dict[str, list[str]] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    subgraphs: dict[str, str] = field(default_factory=dict)
    loop_styles: list[int] = field(default_factory=list)
    classes: dict[str, list[str]] = field(default_factory=dict)

    def labelled(self, first_line: str) -> list[str]:
        """Ids of the nodes whose label starts with this line."""
        return [node for node, lines in self.nodes.items() if lines[0] == first_line]

    def has_edge(self, source: str, target: str, arrow: str | None = None) -> bool:
        """Whether an edge goes from ``source`` to ``target`` (with this arrow)."""
        return any(s == source and t == target and (arrow is None or a == arrow) for s, a, _, t in self.edges)


def _unescape(text: str) -> str:
    for entity, char in (("#quot;", '"'), ("#lt;", "<"), ("#gt;", ">"), ("#amp;", "&"), ("#35;", "#")):
        text = text.replace(entity, char)
    return text


def parse_mermaid(text: str) -> Mermaid:
    """Read a flowchart, failing on any line that is not a known statement or on unbalanced subgraphs."""
    lines = text.splitlines()
    assert lines[0].startswith("%% ") and lines[1] == "flowchart TB", lines[:2]
    parsed = Mermaid()
    depth = 0
    for number, raw in enumerate(lines[2:], start=3):
        line = raw.strip()
        if match := _SUBGRAPH.match(line):
            assert match["id"] not in parsed.subgraphs, f"line {number}: subgraph {match['id']} twice"
            parsed.subgraphs[match["id"]] = _unescape(match["title"])
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0, f"line {number}: `end` without a subgraph"
        elif line == "direction TB":
            assert depth > 0
        elif match := _NODE.match(line):
            assert _SHAPES[match["open"]] == match["close"], f"line {number}: shape {match['open']}...{match['close']}"
            assert match["id"] not in parsed.nodes, f"line {number}: node {match['id']} defined twice"
            parsed.nodes[match["id"]] = [_unescape(part) for part in match["label"].split("<br/>")]
        elif match := _EDGE.match(line):
            parsed.edges.append((match["source"], match["arrow"], _unescape(match["label"] or ""), match["target"]))
        elif line.startswith("linkStyle "):
            parsed.loop_styles = [int(i) for i in line.split()[1].split(",")]
        elif line.startswith("class "):
            _, ids, name = line.split()
            parsed.classes[name] = ids.split(",")
        else:
            assert re.match(r"^(style \w+ |classDef \w+ )", line), f"line {number}: not a statement: {line!r}"
    assert depth == 0, "a subgraph is not closed"
    return parsed


# --- helpers --------------------------------------------------------------------------------


def _spec(path: Path, environment: str) -> ResolvedSpec:
    return load_platform(path, environment=environment)[environment]


def _graph_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["graph", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _components(run: MockRun) -> dict[str, Counter[str]]:
    """Independently of the graph code: resources under each component, each counted at its nearest component."""
    by_urn = {r.urn: r for r in run.resources}
    counts: dict[str, Counter[str]] = {r.name: Counter() for r in run.resources if not r.custom}
    for resource in run.resources:
        if resource.custom:
            parent = by_urn.get(resource.parent or "")
            while parent is not None and parent.custom:
                parent = by_urn.get(parent.parent or "")
            assert parent is not None, resource.name
            counts[parent.name][short_type(resource.type)] += 1
    return {name: c for name, c in counts.items() if c}


# --- the graph from a spec ------------------------------------------------------------------


@pytest.mark.parametrize(("path", "environment"), [(CHURN, "local"), (CHURN, "staging"), (CHURN, "prod"), (RETAIL, "prod")])
def test_mermaid_is_well_formed_and_every_reference_is_defined(path: Path, environment: str) -> None:
    spec = _spec(path, environment)
    parsed = parse_mermaid(to_mermaid(platform_graph(spec)))
    for source, _, _, target in parsed.edges:
        assert source in parsed.nodes and target in parsed.nodes, (source, target)
    assert parsed.loop_styles == [i for i, edge in enumerate(parsed.edges) if edge[1] == "==>"]
    platform = spec.platform
    for data_source in platform.feature_store.sources:
        assert parsed.labelled(data_source.name), data_source.name
    for view in platform.feature_store.feature_views:
        assert parsed.labelled(view.name), view.name
    for channel in platform.notifications:
        assert parsed.labelled(channel.name), channel.name
    assert "Data sources" in parsed.subgraphs.values() and "Feature store" in parsed.subgraphs.values()


@pytest.mark.parametrize(("path", "environment"), [(CHURN, "staging"), (CHURN, "prod"), (RETAIL, "prod")])
def test_every_monitor_of_the_spec_appears_and_reaches_the_alerts(path: Path, environment: str) -> None:
    spec = _spec(path, environment)
    graph = platform_graph(spec)
    parsed = parse_mermaid(to_mermaid(graph))
    alerts = graph.node_id("alerting")
    for model in spec.platform.models:
        for monitor in model.monitors:
            [node] = parsed.labelled(monitor.name)
            assert parsed.has_edge(node, alerts), monitor.name
            if isinstance(monitor, ModelQuality):
                assert parsed.has_edge(graph.node_id("source", model.label.source), node), "quality needs ground truth"
    assert len([n for n in graph.nodes.values() if n.kind == "monitor"]) == sum(len(m.monitors) for m in spec.platform.models)


def _loop(graph: PlatformGraph, model: str) -> list[tuple[str, str]]:
    return [
        (graph.node_id("alerting"), graph.node_id("trigger")),
        (graph.node_id("trigger"), graph.node_id("model", model, "extract_features")),
        (graph.node_id("model", model, "register"), graph.node_id("model", model, "registry")),
        (graph.node_id("model", model, "registry"), graph.node_id("model", model, "endpoint")),
    ]


@pytest.mark.parametrize("environment", ["local", "staging", "prod"])
def test_the_retraining_loop_runs_alert_trigger_training_registry_serving(environment: str) -> None:
    graph = platform_graph(_spec(CHURN, environment))
    parsed = parse_mermaid(to_mermaid(graph))
    for source, target in _loop(graph, "churn"):
        assert parsed.has_edge(source, target, "==>"), (source, target)
    # Training's own steps carry a run from its first step to registration.
    steps = ["extract_features", "validate_data", "train", "evaluate", "register"]
    for before, after in pairwise(steps):
        assert parsed.has_edge(graph.node_id("model", "churn", before), graph.node_id("model", "churn", after))
    [edge] = [e for e in parsed.edges if e[0] == graph.node_id("alerting") and e[3] == graph.node_id("trigger")]
    assert edge[2] == "retrain churn: churn-feature-drift, churn-quality"


def test_retail_has_a_loop_per_retrained_model_and_batch_only_models_are_scored_from_the_registry() -> None:
    spec = _spec(RETAIL, "prod")
    graph = platform_graph(spec)
    parsed = parse_mermaid(to_mermaid(graph))
    for model in spec.platform.models:
        if model.serving.online and model.retraining.triggers:
            for source, target in _loop(graph, model.name):
                assert parsed.has_edge(source, target, "==>"), (model.name, source, target)
        if not model.serving.online:
            assert parsed.has_edge(graph.node_id("model", model.name, "registry"), graph.node_id("model", model.name, "batch"), "==>")


def test_labels_with_mermaid_syntax_are_escaped() -> None:
    text = to_mermaid(platform_graph(_spec(CHURN, "staging")))
    assert "#35;ml-alerts" in text  # a Slack channel's "#" would start an entity
    parsed = parse_mermaid(text)
    assert parsed.nodes[parsed.labelled("ml-oncall")[0]][1] == "slack #ml-alerts"
    assert any(">" in line for lines in parsed.nodes.values() for line in lines)


def test_mermaid_itself_parses_every_example(mock_stack: Callable[..., MockRun]) -> None:
    """What GitHub renders: Mermaid's own parser (tools/mermaid-parse) accepts each graph, and refuses a broken one."""
    node = shutil.which("node")
    if node is None or not (MERMAID_PARSER / "node_modules").is_dir():
        raise RuntimeError("Mermaid's parser is not installed; run the README's test command (make test)")
    graphs = [to_mermaid(platform_graph(_spec(path, env))) for path, env in [(CHURN, "local"), (CHURN, "staging"), (RETAIL, "prod")]]
    spec = _spec(CHURN, "prod")
    graphs.append(to_mermaid(platform_graph(spec, resource_groups(mock_stack("churn-prod")), stack="churn-prod")))
    broken = graphs[0].replace('"]', "]", 1)
    result = subprocess.run(
        [node, str(MERMAID_PARSER / "parse.mjs")], input=json.dumps([*graphs, broken]), capture_output=True, text=True, timeout=120
    )
    parsed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["ok"] for p in parsed] == [True] * len(graphs) + [False], result.stdout + result.stderr
    assert {p["type"] for p in parsed[:-1]} == {"flowchart-v2"}


# --- the graph from a stack ---------------------------------------------------------------


@pytest.mark.parametrize("stack", ["churn-staging", "churn-prod"])
def test_stack_resources_per_part_match_the_mock_run(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], mock_stack: Callable[..., MockRun]
) -> None:
    code, out, err = _graph_cli(capsys, "--stack", stack, "--out", str(tmp_path / "graph.mmd"))
    assert (code, err) == (0, ""), err
    assert out == f"wrote {tmp_path / 'graph.mmd'}\n"
    parsed = parse_mermaid((tmp_path / "graph.mmd").read_text())
    run = mock_stack(stack)
    expected = _components(run)
    drawn = {lines[0].split(" (")[0]: lines for node, lines in parsed.nodes.items() if node in parsed.classes.get("resources", [])}
    assert set(drawn) == set(expected)
    for component, counts in expected.items():
        total = sum(counts.values())
        assert drawn[component][1] == f"{total} resource{'s' if total != 1 else ''}", component
        listed = [re.fullmatch(r"(\w+(?: provider)?)(?: \((\d+)\))?", item) for item in ", ".join(drawn[component][2:]).split(", ")]
        assert Counter({m[1]: int(m[2] or 1) for m in listed if m}) == counts, drawn[component]
    assert sum(sum(c.values()) for c in expected.values()) == sum(1 for r in run.resources if r.custom)


@pytest.mark.parametrize("stack", ["churn-dev", "churn-staging", "churn-prod", "retail-prod"])
def test_every_component_of_every_stack_belongs_to_a_part(stack: str, mock_stack: Callable[..., MockRun]) -> None:
    groups = resource_groups(mock_stack(stack))
    assert {g.part for g in groups} <= set(PART_OF_COMPONENT.values()), [g.component_type for g in groups if g.part == "other"]
    graph = platform_graph(_spec(CHURN if stack.startswith("churn") else RETAIL, stack.split("-")[1]), groups, stack=stack)
    serving = [n for n in graph.nodes.values() if n.kind == "resources" and n.part == "serving"]
    assert serving and all("ModelServing" in n.lines[0] for n in serving)


# --- images ---------------------------------------------------------------------------------


def test_svg_is_valid_xml_with_the_platform_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "graph.svg"
    code, _, err = _graph_cli(capsys, str(CHURN), "--env", "staging", "--format", "svg", "--out", str(out))
    assert (code, err) == (0, "")
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    spec = _spec(CHURN, "staging").platform
    expected = {"Retraining trigger", "Offline store", "Online store", "churn versions", "churn endpoint", "Canary", "Alerts"}
    expected |= {m.name for m in spec.models[0].monitors} | {s.name for s in spec.feature_store.sources} | {"ml-oncall", "ml-team"}
    assert expected <= texts, expected - texts
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")} & {"Data sources", "Serving", "Monitoring", "Retraining"}
    assert len(titles) == 4


def test_png_is_an_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "graph.png"
    code, _, err = _graph_cli(capsys, str(CHURN), "--env", "dev", "--format", "png", "--out", str(out))
    assert (code, err) == (0, "")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mermaid_goes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _graph_cli(capsys, str(CHURN), "--env", "staging")
    assert (code, err) == (0, "")
    assert out == to_mermaid(platform_graph(_spec(CHURN, "staging")))


# --- mistakes: exit 2, one line ----------------------------------------------------------------


def test_missing_graphviz_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    code, out, err = _graph_cli(capsys, str(CHURN), "--env", "staging", "--format", "svg", "--out", str(tmp_path / "g.svg"))
    assert code == 2 and out == ""
    assert err == "mlops graph: --format svg needs Graphviz's `dot` on PATH (apt-get install graphviz)\n"
    assert not (tmp_path / "g.svg").exists()


def test_unknown_format_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["graph", str(CHURN), "--env", "staging", "--format", "gif"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'gif'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "nope"], "--stack: no such stack; got 'nope'; allowed: a stack with a file in stacks: one of 'churn-dev'"),
        ([], "mlops graph: give --stack NAME, or SPEC_FILE (with --env NAME)"),
        ([str(CHURN)], "mlops graph: the spec declares several environments; got None; allowed: --env one of 'dev', 'local'"),
        (["--stack", "churn-dev", str(CHURN)], "mlops graph: --stack draws the stack's own spec and environment"),
        ([str(CHURN), "--env", "qa"], "environment"),
    ],
)
def test_mistakes_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _graph_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_an_unwritable_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _graph_cli(capsys, str(CHURN), "--env", "staging", "--out", str(tmp_path / "missing" / "g.mmd"))
    assert code == 2
    assert err == f"{tmp_path / 'missing' / 'g.mmd'}: cannot write the graph: No such file or directory\n"
