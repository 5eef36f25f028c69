"""The spec's JSON Schema (for editors) and the Markdown reference generated from it.

Both come from the pydantic models, so the reference cannot drift from what
``mlops validate`` accepts; a test regenerates ``docs/spec-reference.md`` and
compares.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from mlops_dsl.spec.base import format_duration
from mlops_dsl.spec.platform import Platform


class _SpecSchema(GenerateJsonSchema):
    """Writes duration defaults the way specs write them ("15m"), not as ISO 8601."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a platform spec (draft 2020-12)."""
    schema = Platform.model_json_schema(mode="validation", schema_generator=_SpecSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MLOps platform spec"
    return schema


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{_ref_name(prop['$ref'])}](#{_ref_name(prop['$ref']).lower()})"
    if "oneOf" in prop or "anyOf" in prop:
        options = [_type_of(option) for option in prop.get("oneOf", prop.get("anyOf", []))]
        return " or ".join(options)
    if "enum" in prop:
        return " \\| ".join(f"`{value!r}`" if isinstance(value, str) else f"`{value}`" for value in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']!r}`"
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties") or next(iter(prop.get("patternProperties", {}).values()), None)
        return f"map of name to {_type_of(values)}" if isinstance(values, dict) and values else "map"
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "string" and "pattern" in prop and prop["pattern"].startswith("^(\\d+(ms"):
        return "duration"
    return {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean", "null": "none"}.get(str(kind), "any")


def _constraints(prop: dict[str, Any]) -> str:
    notes = []
    for key, text in (("minimum", ">= {}"), ("exclusiveMinimum", "> {}"), ("maximum", "<= {}"), ("exclusiveMaximum", "< {}")):
        if key in prop:
            notes.append(text.format(prop[key]))
    if "minItems" in prop:
        notes.append(f"at least {prop['minItems']} item{'s' if prop['minItems'] != 1 else ''}")
    if "minProperties" in prop:
        notes.append(f"at least {prop['minProperties']} entry")
    described = [prop, *prop.get("anyOf", []), prop.get("propertyNames", {})]
    notes += [part["description"] for part in described if "description" in part]
    items = prop.get("items")
    if isinstance(items, dict) and "description" in items:
        notes.append(f"each: {items['description']}")
    return "; ".join(notes)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "see type"
    value = prop["default"]
    if value is None:
        return "none"
    return f"`{value!r}`" if isinstance(value, str) else f"`{value}`".replace("True", "true").replace("False", "false")


def markdown_reference() -> str:
    """Every spec section as a Markdown table: field, type, default, what is allowed."""
    schema = json_schema()
    definitions = {"Platform": schema, **schema["$defs"]}
    lines = [
        "# Spec reference",
        "",
        "Generated from the spec's models by `mlops schema --format markdown`; do not edit by hand.",
        "Durations are written as `250ms`, `30s`, `5m`, `1h30m`, `2d` or `1w`; schedules as 5-field cron expressions.",
        "",
    ]
    for name, definition in definitions.items():
        lines += [f"## {name}", ""]
        description = definition.get("description", "").replace("``", "`")
        if description:
            lines += [description, ""]
        properties = definition.get("properties", {})
        if not properties:
            continue
        lines += ["| field | type | default | allowed |", "|---|---|---|---|"]
        required = set(definition.get("required", []))
        for field, prop in properties.items():
            cells = [f"`{field}`", _type_of(prop), _default(prop, field in required), _constraints(prop)]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") if i == 3 else cell for i, cell in enumerate(cells)) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
