"""The shipped examples and stacks: valid everywhere, and covering what the project promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_dsl.loading.loader import load_platform
from mlops_dsl.loading.stack import Project, load_stack

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(ROOT.glob("examples/*/platform.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_is_valid_in_every_environment(example: Path) -> None:
    resolved = load_platform(example)
    assert resolved
    assert "local" in resolved, "every example runs on one machine too"


def test_there_are_at_least_two_examples() -> None:
    assert len(EXAMPLES) >= 2


def test_the_retail_example_shares_one_feature_store_across_several_models() -> None:
    platform = load_platform(ROOT / "examples/retail/platform.py", environment="prod")["prod"].platform
    assert len(platform.models) >= 3
    views_by_model = {m.name: {ref.split(":")[0] for ref in m.features} for m in platform.models}
    shared = set.intersection(*views_by_model.values())
    assert shared, f"no feature view is used by every model: {views_by_model}"
    assert {m.task for m in platform.models} == {"classification", "regression"}


def test_the_churn_example_has_dev_staging_and_prod_stacks(project: Project) -> None:
    environments = {load_stack(project, s).environment for s in project.stack_names() if s.startswith("churn-")}
    assert environments == {"dev", "staging", "prod"}


def test_stacks_cover_both_cloud_targets(project: Project) -> None:
    targets = {load_stack(project, s).target.kind for s in project.stack_names()}
    assert targets == {"aws", "kubernetes"}


def test_environments_really_differ(project: Project) -> None:
    churn = {s: load_stack(project, s).platform.model("churn") for s in project.stack_names() if s.startswith("churn-")}
    assert churn["churn-prod"].registry.approval == "manual"
    assert churn["churn-dev"].registry.approval == "automatic"
    assert churn["churn-dev"].serving.canary is None and churn["churn-staging"].serving.canary is not None
    scaling = {s: m.serving.autoscaling.max_replicas for s, m in churn.items() if m.serving.autoscaling}
    assert scaling == {"churn-dev": 2, "churn-staging": 4, "churn-prod": 12}


def test_the_readme_short_spec_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    spec = tmp_path / "readme_spec.py"
    spec.write_text(block)
    resolved = load_platform(spec)
    assert sorted(resolved) == ["dev", "prod"]
    assert resolved["prod"].platform.model("churn").registry.approval == "manual"


def test_a_resolved_environment_round_trips_through_json(tmp_path: Path) -> None:
    from mlops_dsl.loading.loader import resolved_json

    for environment in ("local", "prod"):
        resolved = load_platform(ROOT / "examples/churn/platform.py", environment=environment)[environment]
        (tmp_path / "spec.json").write_text(resolved_json(resolved))
        again = load_platform(tmp_path / "spec.json")[environment]
        assert again.platform.model_dump(exclude={"environments"}) == resolved.platform.model_dump(exclude={"environments"})
        assert (again.target, again.stage) == (resolved.target, resolved.stage)


def test_a_json_spec_that_is_not_json_is_one_problem(tmp_path: Path) -> None:
    from mlops_dsl.spec.problems import SpecError

    (tmp_path / "spec.json").write_text("{nope")
    with pytest.raises(SpecError) as error:
        load_platform(tmp_path / "spec.json")
    [problem] = error.value.problems
    assert "is not valid JSON" in problem.message
