"""Apply an environment's (or a stack's) overrides to the spec's plain data.

Overrides address fields by the same paths that errors show:
``{"models.churn.serving.replicas": 3}`` or, equivalently, nested dicts
``{"models": {"churn": {"serving": {"replicas": 3}}}}``. A segment that meets a
list of named items (models, monitors, feature views...) picks the item with
that name, the way Kubernetes' strategic merge patches lists by key; a number
picks an unnamed list item (``retraining.triggers.0.cron``). A dict value is
merged into what is there; any other value replaces it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mlops_dsl.spec.problems import Problem, got_allowed, join_path, one_of

PROTECTED_ROOTS = ("environments",)


@dataclass
class Overlay:
    """The merged data, plus the paths each override wrote (to say where a bad value came from)."""

    data: dict[str, Any]
    written: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], *, origin: str, source: str) -> Overlay:
    """Return a copy of ``data`` with ``overrides`` applied; problems name ``origin`` and the override key."""
    overlay = Overlay(copy.deepcopy(data))
    for key, value in overrides.items():
        segments = _segments(key)
        at = _Origin(origin, str(key), source)
        if segments[0] in PROTECTED_ROOTS:
            overlay.problems.append(
                at.problem(segments[0], "a path into the platform outside 'environments'", "overrides cannot change environments")
            )
            continue
        _merge(overlay, overlay.data, segments, value, [], at)
    return overlay


def _segments(key: Any) -> list[str]:
    return key.split(".") if isinstance(key, str) else [str(key)]


@dataclass(frozen=True)
class _Origin:
    """Which override is being applied, for problems: ``origin[key]`` in ``source``."""

    origin: str
    key: str
    source: str

    def problem(self, got: str, allowed: str, reason: str) -> Problem:
        return Problem(f"{self.origin}[{self.key!r}]", got_allowed(got, allowed, reason), source=self.source)


def _is_named_list(node: Any) -> bool:
    return isinstance(node, list) and all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in node)


def _select(overlay: Overlay, node: Any, head: str, trail: list[str | int], at: _Origin) -> tuple[str | int, str | int] | None:
    """Where ``head`` points inside ``node``: (key or index, label for the path), or None with a problem."""
    if isinstance(node, dict):
        return head, head
    if _is_named_list(node):
        names = [item["name"] for item in node]
        if head in names:
            return names.index(head), head
        overlay.problems.append(at.problem(head, one_of(set(names)), f"{join_path(*trail)} has no item named {head!r}"))
        return None
    if isinstance(node, list):
        if head.isdigit() and int(head) < len(node):
            return int(head), int(head)
        allowed = f"a position from 0 to {len(node) - 1}" if node else "none (the list is empty)"
        overlay.problems.append(at.problem(head, allowed, f"{join_path(*trail)} has no item {head!r}"))
        return None
    overlay.problems.append(at.problem(head, "a path that ends at this value", f"{join_path(*trail)} is a value, not a section"))
    return None


def _merge(overlay: Overlay, node: Any, segments: list[str], value: Any, trail: list[str | int], at: _Origin) -> None:
    """Write ``value`` at ``segments`` below ``node``; ``trail`` is the display path so far."""
    head, rest = segments[0], segments[1:]
    selected = _select(overlay, node, head, trail, at)
    if selected is None:
        return
    selector, label = selected
    here = [*trail, label]
    if rest:
        if isinstance(node, dict) and node.get(head) is None:
            node[head] = {}
        _merge(overlay, node[selector], rest, value, here, at)
        return
    current = node.get(selector) if isinstance(node, dict) else node[selector]
    if isinstance(value, dict) and isinstance(current, (dict, list)):
        for sub_key, sub_value in value.items():
            _merge(overlay, current, _segments(sub_key), sub_value, here, at)
        return
    node[selector] = copy.deepcopy(value)
    overlay.written.append(join_path(*here))
