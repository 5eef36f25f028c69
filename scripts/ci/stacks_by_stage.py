"""Print the project's stacks grouped by the stage they deploy, as ``stage=["stack", ...]`` lines.

The delivery workflow appends these to ``$GITHUB_OUTPUT`` and deploys each
stage's stacks behind that stage's GitHub environment. The stage comes from
the spec (``Environment.stage``, or the environment's name), not from the
stack's name.

    .venv/bin/python scripts/ci/stacks_by_stage.py >> "$GITHUB_OUTPUT"
"""

from __future__ import annotations

import json
import sys

from mlops_dsl.loading.stack import find_project, load_stack
from mlops_dsl.spec.environment import STAGES
from mlops_dsl.spec.problems import SpecError


def stacks_by_stage() -> dict[str, list[str]]:
    """Every stack of the project in the current directory, by stage (every stage present, maybe empty)."""
    project = find_project()
    stages: dict[str, list[str]] = {stage: [] for stage in STAGES}
    for stack in project.stack_names():
        stages[load_stack(project, stack).stage].append(stack)
    return stages


def main() -> int:
    """Print one ``stage=<JSON list>`` line per stage; exit 2 with the problems when a stack is invalid."""
    try:
        stages = stacks_by_stage()
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    for stage, stacks in stages.items():
        print(f"{stage}={json.dumps(stacks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
