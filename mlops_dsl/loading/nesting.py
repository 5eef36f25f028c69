"""Refuse values that contain themselves or nest too deeply, before anything recursive walks them.

A spec value, a stack file or a plan is walked by recursive code everywhere
(turning declarations into data, pydantic, the overlay, ``repr`` in an error
line, ``json.dumps``). A list that contains itself, or a value nested a few
thousand levels deep, would end any of them in a ``RecursionError`` with no
hint of where. This walk has no recursion of its own, so it can name the place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_dsl.spec.problems import join_path

MAX_DEPTH = 100
"""Deepest nesting accepted: a platform spec needs about ten levels, a plan about twenty."""
_SHOWN_PARTS = 12  # a path 100 levels deep is not readable; its start says where

Expand = Callable[[Any], Mapping[str, Any] | None]


@dataclass(frozen=True)
class NestingProblem:
    """Where a value goes wrong (a display path) and how."""

    path: str
    message: str


def _no_expansion(value: Any) -> Mapping[str, Any] | None:
    return None


def _label(index: int, item: Any, expand: Expand) -> str | int:
    """A list entry's place: its name if it has one (``models.churn``), else its position."""
    fields = item if isinstance(item, Mapping) else expand(item)
    name = fields.get("name") if fields is not None else None
    return name if isinstance(name, str) and name else index


def _children(value: Any, expand: Expand) -> Iterator[tuple[str | int, Any]] | None:
    fields = value if isinstance(value, Mapping) else expand(value)
    if fields is not None:
        return ((key if isinstance(key, str | int) else repr(key), item) for key, item in fields.items())
    if isinstance(value, list | tuple):
        return ((_label(index, item, expand), item) for index, item in enumerate(value))
    if isinstance(value, set | frozenset):
        return ((index, item) for index, item in enumerate(value))
    return None


def _shown(parts: list[str | int]) -> str:
    path = join_path(*parts[:_SHOWN_PARTS])
    return path + "..." if len(parts) > _SHOWN_PARTS else path


def nesting_problem(value: Any, *, limit: int = MAX_DEPTH, expand: Expand = _no_expansion) -> NestingProblem | None:
    """The first place where ``value`` contains itself or nests deeper than ``limit``, or None.

    Dicts, lists, tuples and sets are walked; ``expand`` turns any other object
    that holds values (a spec declaration) into a mapping, or returns None for a leaf.
    The same container reached twice by different paths is fine; only a
    container inside itself is refused.
    """
    root = _children(value, expand)
    if root is None:
        return None
    parts: list[str | int] = []
    open_ids = [id(value)]
    stack = [root]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            open_ids.pop()
            if parts:
                parts.pop()
            continue
        key, item = step
        children = _children(item, expand)
        if children is None:
            continue
        parts.append(key)
        if id(item) in open_ids:
            return NestingProblem(_shown(parts), "contains itself (a list or dict that holds itself); allowed: finite values")
        if len(stack) >= limit:
            return NestingProblem(_shown(parts), f"nests deeper than {limit} levels; allowed: at most {limit} levels of lists and dicts")
        open_ids.append(id(item))
        stack.append(children)
    return None
