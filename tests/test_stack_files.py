"""Every stack file loads: a broken one is reported here by name, and fails only its own tests elsewhere."""

from __future__ import annotations

import pytest

from mlops_dsl.loading.stack import load_stack
from tests.conftest import BROKEN, PROJECT, stacks_of


@pytest.mark.parametrize("stack", PROJECT.stack_names())
def test_every_stack_loads(stack: str) -> None:
    load_stack(PROJECT, stack)


def test_every_stack_has_a_target_the_tests_know() -> None:
    by_target = {target: stacks_of(target) for target in ("kubernetes", "aws", "local")}
    assert sorted(s for stacks in by_target.values() for s in stacks) == sorted(PROJECT.stack_names())
    assert BROKEN not in by_target
