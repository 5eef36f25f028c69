"""Turn pydantic validation errors into one-line problems with readable field paths.

Pydantic locates an error by a tuple such as ``("models", 0, "serving",
"canary", "percent")``. People think of ``models.churn.serving.canary.percent``:
list positions of named items become their names, discriminator tags and union
branch labels disappear, and the message says what was given and what is
allowed, using the field's own constraints.
"""

from __future__ import annotations

import math
import types
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from mlops_dsl.spec.problems import Problem, got_allowed, join_path


class _Place:
    """Where a loc points: the display path, the field there and the model that holds it."""

    def __init__(self) -> None:
        self.parts: list[str | int] = []
        self.field: FieldInfo | None = None
        self.holder: type[BaseModel] | None = None
        self.branch = False  # went through a plain union's branch label

    @property
    def path(self) -> str:
        return join_path(*self.parts)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional so the walker sees the type that matters."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if _is_union(annotation):
            members = [m for m in get_args(annotation) if m is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tag_of(member: Any) -> Any:
    member = _unwrap(member)
    if _is_model(member) and "kind" in member.model_fields:
        return member.model_fields["kind"].default
    return None


def _one_line(text: str) -> bool:
    """Whether a name can stand in a path as it is: a problem is one line, so no newlines or other control characters."""
    return bool(text) and text.isprintable() and not any(character.isspace() for character in text)


def _locate(root: Any, data: Any, loc: tuple[str | int, ...]) -> _Place:
    place = _Place()
    annotation: Any = root
    value = data
    index = 0
    while index < len(loc):
        item = loc[index]
        annotation = _unwrap(annotation)
        index += 1
        if _is_model(annotation):
            place.holder = annotation
            place.parts.append(item)
            if isinstance(item, str) and item in annotation.model_fields:
                place.field = annotation.model_fields[item]
                annotation = place.field.annotation
                value = value.get(item) if isinstance(value, dict) else None
            else:
                place.field, annotation, value = None, None, None
            continue
        place.field = None
        origin = get_origin(annotation)
        if origin in (list, tuple, set, frozenset) and isinstance(item, int):
            element = value[item] if isinstance(value, list) and item < len(value) else None
            name = element.get("name") if isinstance(element, dict) else None
            place.parts.append(name if isinstance(name, str) and _one_line(name) else item)
            annotation, value = get_args(annotation)[0], element
            continue
        if origin is dict and isinstance(item, str):
            place.parts.append(item if _one_line(item) else item.encode("unicode_escape").decode("ascii"))
            if index < len(loc) and loc[index] == "[key]":
                index += 1
                annotation, value = get_args(annotation)[0], item
            else:
                annotation = get_args(annotation)[1]
                value = value.get(item) if isinstance(value, dict) else None
            continue
        if _is_union(annotation):
            members = get_args(annotation)
            tagged = [m for m in members if _tag_of(m) == item]
            if tagged:
                annotation = tagged[0]
            else:
                # A plain union names the branch it tried ("int", "str"); the
                # path stays at the field and the branches' messages are merged.
                place.branch = True
                annotation = None
            continue
        if annotation is None:
            continue  # inside a union branch label such as "function-after[...]"
        place.parts.append(item)
    return place


def _bounds(field: FieldInfo | None) -> str | None:
    if field is None:
        return None
    found: dict[str, Any] = {}
    for meta in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(meta, getattr(annotated_types, name.capitalize())):
                found[name] = getattr(meta, name)
    low = f"{found['ge']}" if "ge" in found else None
    high = f"{found['le']}" if "le" in found else None
    if low is not None and high is not None:
        return f"{low} to {high}"
    parts = []
    if "ge" in found:
        parts.append(f"{found['ge']} or more")
    if "gt" in found:
        parts.append(f"more than {found['gt']}")
    if "le" in found:
        parts.append(f"at most {found['le']}")
    if "lt" in found:
        parts.append(f"less than {found['lt']}")
    return " and ".join(parts) or None


# What a value of each strict type is, in words; a field's bounds are added to it.
_TYPES = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number (not NaN or infinity)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
}


def _kind_with_bounds(kind: str, field: FieldInfo | None) -> str:
    what = _TYPES[kind]
    bounds = _bounds(field) if kind not in ("bool_type", "bool_parsing", "string_type", "list_type") else None
    return f"{what}, {bounds}" if bounds else what


def _quoted_number(kind: str, given: Any) -> str:
    """Why a number written as text is refused, when that is what happened."""
    if kind not in ("int_type", "float_type") or not isinstance(given, str):
        return ""
    try:
        number = float(given)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    if "e" in given.lower() and "." not in given:
        # PyYAML follows YAML 1.1, where a float needs a dot: 1e-3 is a string there.
        return "text, not a number (YAML reads 1e-3 as text: write 1.0e-3 or 0.001)"
    return "a number in quotes"


def _field_list(model: type[BaseModel] | None) -> str:
    if model is None:
        return "a known field"
    return f"a field of {model.__name__}: " + ", ".join(name for name in model.model_fields if name != "kind")


def _describe(error: Any, place: _Place) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "spec_value":
        return got_allowed(given, ctx["allowed"], ctx["reason"].removesuffix("; "))
    if kind == "missing":
        return "missing; allowed: a value (this field is required)"
    if kind == "extra_forbidden":
        return got_allowed(place.parts[-1] if place.parts else given, _field_list(place.holder), "unknown field")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = _bounds(place.field) or error["msg"].removeprefix("Input should be ")
        return got_allowed(given, bounds)
    if kind in _TYPES:
        return got_allowed(given, _kind_with_bounds(kind, place.field), _quoted_number(kind, given))
    if kind == "literal_error":
        return got_allowed(given, f"one of {ctx['expected']}")
    if kind == "union_tag_invalid":
        discriminator = str(ctx["discriminator"]).strip("'")
        return got_allowed(ctx.get("tag"), f"a {discriminator} of {ctx['expected_tags']}", f"unknown {discriminator}")
    if kind == "union_tag_not_found":
        discriminator = str(ctx["discriminator"]).strip("'")
        return got_allowed(given, f"an object with a '{discriminator}' field (built with one of its classes)")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        expected = _unwrap(place.field.annotation) if place.field is not None else None
        what = f"a {expected.__name__}(...) or a dict of its fields" if expected is not None and _is_model(expected) else "a dict"
        return got_allowed(given, what)
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        unit = "item" if isinstance(given, (list, dict, tuple, set)) else "character"
        plural = "" if bound == 1 else "s"
        return got_allowed(given, f"at {'least' if kind == 'too_short' else 'most'} {bound} {unit}{plural}")
    if kind == "string_pattern_mismatch":
        return got_allowed(given, f"text matching {ctx['pattern']}")
    return got_allowed(given, error["msg"].removeprefix("Input should be ").removeprefix("Value error, "))


def problems_from(error: ValidationError, root: Any, data: Any, *, source: str, prefix: str = "") -> list[Problem]:
    """One problem per field: the named path, what was given, what is allowed.

    ``root`` is the type that was validated (a model class or any annotation),
    ``data`` the input, ``prefix`` the path of that input within the spec.
    """
    by_path: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        place = _locate(root, data, tuple(item["loc"]))
        path = join_path(prefix, place.path) if prefix else place.path
        message = _describe(item, place)
        if place.branch and by_path.get(path):
            # The branches of a plain union each failed: say once what any of them allows.
            first = by_path[path][0]
            allowed = message.partition("; allowed: ")[2]
            by_path[path][0] = f"{first} or {allowed}"
            continue
        by_path.setdefault(path, []).append(message)
    return [Problem(path, message, source=source) for path, messages in by_path.items() for message in messages]


__all__ = ["problems_from"]
