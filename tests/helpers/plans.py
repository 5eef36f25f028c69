"""Offline plans of this project's stacks (and of seeded copies), computed once per session.

A plan takes a few seconds under mocks, and several test modules read the
same ones: each is kept as its JSON text, and every caller gets a fresh copy
it may change.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from mlops_dsl.loading.stack import Project, find_project
from mlops_dsl.review.plan import plan_stack, render

ROOT = Path(__file__).resolve().parents[2]


def project_with_stacks(stack_dir: Path | None = None) -> Project:
    """This project, with its stack files read from ``stack_dir`` (default: its own stacks/)."""
    project = find_project(ROOT)
    return project if stack_dir is None else Project(project.root, project.name, stack_dir)


@functools.cache
def _plan_text(stack: str, stack_dir: str | None) -> str:
    return render(plan_stack(project_with_stacks(Path(stack_dir) if stack_dir else None), stack))


def plan_of(stack: str, stack_dir: Path | None = None) -> dict[str, Any]:
    """A fresh copy of a stack's plan (with its policy result)."""
    return json.loads(_plan_text(stack, str(stack_dir) if stack_dir else None))


def plan_text(stack: str) -> str:
    """The bytes ``mlops plan --stack STACK --out`` writes for one of this project's stacks."""
    return _plan_text(stack, None)


def seeded_stack(directory: Path, stack: str, body: str) -> Path:
    """A stack file ``Pulumi.<stack>.yaml`` with ``body`` in ``directory``; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"Pulumi.{stack}.yaml").write_text(body)
    return directory


def resource(plan: dict[str, Any], type_token: str, name: str) -> dict[str, Any]:
    """The plan's resource of this type and name."""
    found = [r for r in plan["resources"] if r["type"] == type_token and r["name"] == name]
    if len(found) != 1:
        raise LookupError(f"expected one {type_token} named {name}, found {len(found)}")
    return found[0]


def of_type(plan: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    """Every resource of the plan of this type."""
    return [r for r in plan["resources"] if r["type"] == type_token]
