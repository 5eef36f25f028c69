"""What the trigger's POST endpoints accept: typed bodies, each refused on one line that names the field."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops_dsl.spec.problems import join_path

MAX_BODY_BYTES = 1024 * 1024
"""Largest body any endpoint accepts: an Alertmanager notification of a few hundred alerts fits well inside."""


class ManualRun(BaseModel):
    """The body of ``POST /runs``: which model to retrain, and why."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str
    reason: str | None = None


class RunReport(BaseModel):
    """The body of ``POST /runs/{id}/result``: how a run ended (the trainer's result; its other fields are ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    status: Literal["succeeded", "failed"]
    outcome: str | None = None
    version: str | None = None
    reason: str | None = None


Body = TypeVar("Body", bound=BaseModel)


def parse_body(body: bytes, shape: type[Body], expected: str) -> Body | str:
    """The body validated as ``shape``, or one line saying what is wrong: not JSON, or which field and why."""
    try:
        return shape.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return f"the body is not valid JSON; expected {expected}"
        where = join_path(*first["loc"]) or "the body"
        return f"{where}: {first['msg']}; expected {expected}"
