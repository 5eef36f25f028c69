"""The spec's value types, and the declare-then-validate behaviour of its models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from mlops_dsl import Canary, DataDrift, Platform, Serving
from mlops_dsl.spec.base import format_duration, parse_duration, to_data, validating


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800)],
)
def test_durations_parse_and_print_back(text: str, seconds: float) -> None:
    parsed = parse_duration(text)
    assert parsed == timedelta(seconds=seconds)
    assert format_duration(parsed) == text


@pytest.mark.parametrize("text", ["5 minutes", "1.5h", "", "m5", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(Exception, match="a duration such as"):
        parse_duration(text)


def test_a_model_built_in_user_code_is_a_declaration() -> None:
    canary = Canary(percent=150, rollback_on=["x"], typo=True)  # type: ignore[call-arg]  # no error yet: validated later, with its path
    assert canary.is_declaration
    assert canary.percent == 150
    assert to_data(canary) == {"percent": 150, "rollback_on": ["x"], "typo": True}


def test_declarations_keep_their_kind_for_discriminated_unions() -> None:
    assert to_data(DataDrift(name="d", features=["v:f"])) == {"kind": "data_drift", "name": "d", "features": ["v:f"]}


def test_nested_declarations_become_plain_data() -> None:
    serving = Serving(replicas=2, canary=Canary(percent=5, rollback_on=["x"]))
    assert to_data(serving) == {"replicas": 2, "canary": {"percent": 5, "rollback_on": ["x"]}}


def test_inside_validating_models_validate_at_once() -> None:
    with validating():
        with pytest.raises(ValidationError):
            Canary(percent=150, rollback_on=["x"])
        canary = Canary(percent=5, rollback_on=["x"])
    assert not canary.is_declaration
    assert canary.bake_time == timedelta(minutes=15)


def test_validated_models_are_frozen() -> None:
    with validating():
        canary = Canary(percent=5, rollback_on=["x"])
    with pytest.raises(ValidationError):
        canary.percent = 6  # type: ignore[misc]


def test_a_validated_model_round_trips_through_plain_data() -> None:
    with validating():
        serving = Serving(replicas=2, canary=Canary(percent=5, rollback_on=["x"], bake_time="1h30m"))
        again = Serving.model_validate(to_data(serving))
    assert again == serving


def test_positional_arguments_are_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match=r"Canary\(\) takes keyword arguments only, such as Canary\(percent=...\)"):
        Canary(10)  # type: ignore[call-arg,misc]


def test_the_platform_json_schema_names_every_section() -> None:
    schema = Platform.model_json_schema()
    assert {"feature_store", "models", "environments", "notifications"} <= set(schema["properties"])
