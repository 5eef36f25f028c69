"""Overrides: dotted paths and nested dicts, merged into named lists by name."""

from __future__ import annotations

from typing import Any

from mlops_dsl.loading.overlay import apply_overrides


def base() -> dict[str, Any]:
    return {
        "name": "shop",
        "models": [
            {
                "name": "churn",
                "serving": {"replicas": 2, "canary": {"percent": 10}},
                "retraining": {"triggers": [{"kind": "alert", "alert": "a"}]},
            },
            {"name": "spend", "serving": {"replicas": 1}},
        ],
    }


def apply(overrides: dict[str, Any]) -> Any:
    return apply_overrides(base(), overrides, origin="environments.prod.overrides", source="spec.py")


def test_a_dotted_path_picks_a_named_item() -> None:
    overlay = apply({"models.spend.serving.replicas": 4})
    assert overlay.problems == []
    assert overlay.data["models"][1]["serving"] == {"replicas": 4}
    assert overlay.data["models"][0]["serving"]["replicas"] == 2
    assert overlay.written == ["models.spend.serving.replicas"]


def test_nested_dicts_merge_like_dotted_paths() -> None:
    nested = apply({"models": {"churn": {"serving": {"replicas": 5}}}})
    dotted = apply({"models.churn.serving.replicas": 5})
    assert nested.data == dotted.data
    assert nested.data["models"][0]["serving"]["canary"] == {"percent": 10}


def test_mixed_dotted_keys_inside_dicts() -> None:
    overlay = apply({"models.churn": {"serving.canary.percent": 20, "serving.replicas": 3}})
    assert overlay.data["models"][0]["serving"] == {"replicas": 3, "canary": {"percent": 20}}


def test_none_removes_an_optional_section() -> None:
    overlay = apply({"models.churn.serving.canary": None})
    assert overlay.data["models"][0]["serving"]["canary"] is None


def test_a_number_picks_an_unnamed_list_item() -> None:
    overlay = apply({"models.churn.retraining.triggers.0.alert": "b"})
    assert overlay.data["models"][0]["retraining"]["triggers"][0] == {"kind": "alert", "alert": "b"}


def test_a_list_value_replaces_the_list() -> None:
    overlay = apply({"models.churn.retraining.triggers": []})
    assert overlay.data["models"][0]["retraining"]["triggers"] == []


def test_missing_sections_are_created() -> None:
    overlay = apply({"models.spend.serving.autoscaling.max_replicas": 8})
    assert overlay.data["models"][1]["serving"]["autoscaling"] == {"max_replicas": 8}


def test_the_input_is_not_changed() -> None:
    data = base()
    apply_overrides(data, {"models.churn.serving.replicas": 9}, origin="o", source="s")
    assert data == base()


def test_an_unknown_name_is_a_problem_naming_the_override() -> None:
    overlay = apply({"models.chrun.serving.replicas": 3})
    assert [(p.path, p.message) for p in overlay.problems] == [
        (
            "environments.prod.overrides['models.chrun.serving.replicas']",
            "models has no item named 'chrun'; got 'chrun'; allowed: one of 'churn', 'spend'",
        )
    ]


def test_a_position_past_the_end_is_a_problem() -> None:
    overlay = apply({"models.churn.retraining.triggers.3.alert": "b"})
    assert "a position from 0 to 0" in overlay.problems[0].message


def test_a_path_through_a_value_is_a_problem() -> None:
    overlay = apply({"name.first": "x"})
    assert "name is a value, not a section" in overlay.problems[0].message


def test_environments_cannot_be_overridden() -> None:
    overlay = apply({"environments.prod.target.region": "us-east-1"})
    assert "overrides cannot change environments" in overlay.problems[0].message
