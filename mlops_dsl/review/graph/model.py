"""The platform graph as plain data: nodes in parts, and the edges between them.

Renderers (Mermaid, Graphviz) only lay this out; what the graph says is
decided once, here and in :mod:`mlops_dsl.review.graph.build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal[
    "source", "store", "view", "schedule", "step", "registry", "endpoint", "canary", "batch", "monitor", "alerting", "channel",
    "trigger", "resources",
]  # fmt: skip
EdgeStyle = Literal["solid", "dashed", "loop"]

PARTS: dict[str, str] = {
    "sources": "Data sources",
    "feature_store": "Feature store",
    "training": "Training",
    "registry": "Model registry",
    "serving": "Serving",
    "monitoring": "Monitoring",
    "alerting": "Alerts and notifications",
    "retraining": "Retraining",
    "foundation": "Foundation",
    "other": "Other resources",
}
"""Every part of a platform, in the order they are drawn, with their titles."""


@dataclass(frozen=True)
class Node:
    """One box: its id (safe in Mermaid and DOT), the lines of its label, and what it is."""

    id: str
    lines: tuple[str, ...]
    kind: NodeKind
    part: str
    group: str | None = None


@dataclass(frozen=True)
class Edge:
    """An arrow; ``loop`` edges are the retraining loop (alert, trigger, training, registry, serving)."""

    source: str
    target: str
    label: str = ""
    style: EdgeStyle = "solid"


@dataclass
class PlatformGraph:
    """The nodes (by id, in insertion order), the edges, and titles for parts and groups within them."""

    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    part_titles: dict[str, str] = field(default_factory=lambda: dict(PARTS))
    group_titles: dict[str, str] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

    def node_id(self, *key: str) -> str:
        """A stable id for a key such as ("model", "churn", "train"); distinct keys never share an id."""
        joined = "\0".join(key)
        if joined in self._keys:
            return self._keys[joined]
        base = re.sub(r"\W+", "_", "_".join(key)).strip("_").lower() or "node"
        candidate, n = base, 2
        taken = set(self._keys.values())
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        self._keys[joined] = candidate
        return candidate

    def add(self, key: tuple[str, ...], lines: list[str] | tuple[str, ...], kind: NodeKind, part: str, group: str | None = None) -> str:
        """Add a node (once per key) and return its id."""
        node_id = self.node_id(*key)
        self.nodes.setdefault(node_id, Node(node_id, tuple(line for line in lines if line), kind, part, group))
        return node_id

    def connect(self, source: str, target: str, label: str = "", style: EdgeStyle = "solid") -> None:
        """Add an edge between two nodes that already exist."""
        for end in (source, target):
            if end not in self.nodes:
                raise KeyError(f"edge {source} -> {target}: no node {end!r}")
        self.edges.append(Edge(source, target, label, style))

    def parts(self) -> list[str]:
        """The parts that hold at least one node, in drawing order."""
        used = {node.part for node in self.nodes.values()}
        return [part for part in self.part_titles if part in used]

    def groups(self, part: str) -> list[str | None]:
        """The groups within a part (``None`` for nodes directly in it), in first-seen order."""
        seen: dict[str | None, None] = {}
        for node in self.nodes.values():
            if node.part == part:
                seen.setdefault(node.group)
        return list(seen)

    def members(self, part: str, group: str | None) -> list[Node]:
        """The nodes of one group of a part, in insertion order."""
        return [node for node in self.nodes.values() if node.part == part and node.group == group]


__all__ = ["PARTS", "Edge", "EdgeStyle", "Node", "NodeKind", "PlatformGraph"]
