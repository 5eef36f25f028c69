"""What a change does to a stack: the difference between two offline plans, for people and pull requests.

Resources are matched by ``type::name``, as Pulumi matches them by URN: a
resource whose type or logical name changes is deleted and another created.
A matched resource whose inputs differ is updated, or replaced when a
changed input is one its provider cannot change in place (a Kubernetes
object's name or namespace, an S3 bucket's name, any field of a SageMaker
endpoint configuration, ...; see :data:`REPLACE_ON_CHANGE`) or when its parent
or provider changes. The table covers what this platform declares; the
provider has the last word, which ``pulumi preview`` gives with credentials.

Inputs that hold JSON documents (IAM policies, pipeline definitions,
function configuration) are compared inside, so a change shows as the one
field that changed rather than a whole document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops_dsl.loading.nesting import MAX_DEPTH, nesting_problem
from mlops_dsl.spec.problems import Problem, SpecError, join_path, show

# Input paths (prefixes) whose change replaces the resource, by type; "*" means every input but tags.
REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    "kubernetes:*": ("metadata.name", "metadata.namespace", "apiVersion", "kind"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec.accessModes", "spec.storageClassName", "spec.selector", "spec.volumeMode"),
    "kubernetes:core/v1:Service": ("spec.clusterIP", "spec.type"),
    "kubernetes:batch/v1:Job": ("spec.template", "spec.selector"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("bucket", "key"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("*",),
    "aws:sagemaker/endpoint:Endpoint": ("name",),
    "aws:sagemaker/model:Model": ("*",),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("*",),
    "aws:sagemaker/featureGroup:FeatureGroup": (
        "featureGroupName",
        "recordIdentifierFeatureName",
        "eventTimeFeatureName",
        "offlineStoreConfig",
        "onlineStoreConfig.securityConfig",
        "roleArn",
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", "modelPackageGroupDescription"),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName",),
    "aws:dynamodb/table:Table": ("name", "hashKey", "rangeKey"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "protocol", "endpoint"),
    "aws:lambda/function:Function": ("name",),
    "aws:lambda/permission:Permission": ("*",),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion"),
}
ACTIONS = ("create", "update", "replace", "delete")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Change:
    """One input path that differs: its value before and after (``None`` when absent)."""

    path: str
    old: Any
    new: Any
    absent_before: bool = False
    absent_after: bool = False
    forces_replacement: bool = False


@dataclass(frozen=True)
class ResourceDiff:
    """What happens to one resource, and why."""

    action: str
    type: str
    name: str
    changes: tuple[Change, ...] = ()
    reasons: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlanDiff:
    """Every resource a change creates, updates, replaces or deletes; and the policy results on each side."""

    base_stack: str
    head_stack: str
    resources: list[ResourceDiff]
    base_policy: dict[str, Any] | None
    head_policy: dict[str, Any] | None

    def count(self, action: str) -> int:
        """How many resources get ``action``."""
        return sum(1 for r in self.resources if r.action == action)

    def summary(self) -> str:
        """The summary line: ``Plan: 2 to create, 1 to update, 0 to replace, 1 to delete.``"""
        return "Plan: " + ", ".join(f"{self.count(a)} to {a}" for a in ACTIONS) + "."


class _Shape(BaseModel):
    """What the diff reads of a plan, checked before it reads it (other fields pass through)."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Violation(_Shape):
    rule: str
    resource: str
    problem: str
    fix: str


class _Policy(_Shape):
    passed: bool
    violations: list[_Violation] = []
    waived: list[dict[str, Any]] = []


class _Resource(_Shape):
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    provider: str | None = None


class _Plan(_Shape):
    stack: str = "?"
    resources: list[_Resource]
    policy: _Policy | None = None


_NOT_A_PLAN = "is not a plan: expected the JSON `mlops plan --out` writes"
_JSON_TYPES = {"dictionary": "a JSON object", "list": "a JSON array", "string": "a JSON string", "boolean": "true or false"}


def load_plan(path: str | Path) -> dict[str, Any]:
    """A plan file written by ``mlops plan --out``; anything else is a :class:`SpecError` (one line)."""
    shown = str(path)
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise SpecError([Problem("", f"cannot be read: {error.strerror}", source=shown)]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SpecError([Problem("", f"is not JSON: {error}", source=shown)]) from None
    except RecursionError:
        raise SpecError([Problem("", f"{_NOT_A_PLAN}; it nests deeper than {MAX_DEPTH} levels", source=shown)]) from None
    nested = nesting_problem(document)
    if nested is not None:
        raise SpecError([Problem("", f"{_NOT_A_PLAN}; {nested.path}: {nested.message}", source=shown)])
    try:
        _Plan.model_validate(document)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        first = errors[0]
        where = join_path(*first["loc"]) or "the document"
        if first["type"] == "missing":
            what = "is missing"
        else:
            expected = re.sub(r"^Input should be (a valid )?| or instance of \w+$", "", first["msg"])
            what = f"got {show(first['input'])}; allowed: {_JSON_TYPES.get(expected, expected)}"
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise SpecError([Problem("", f"{_NOT_A_PLAN}; {where}: {what}{more}", source=shown)]) from None
    return document  # type: ignore[no-any-return]


def _key(part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if _SIMPLE_KEY.match(part) else f"[{json.dumps(part)}]"


def _document(value: Any, depth: int) -> Any:
    """A JSON object or array held in a string, or None (also when, at ``depth``, it would nest too deeply to compare)."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return None
        if not isinstance(parsed, (dict, list)) or nesting_problem(parsed, limit=MAX_DEPTH - depth) is not None:
            return None
        return parsed
    return None


_ABSENT = object()


def compare(old: Any, new: Any, path: str = "", depth: int = 0) -> list[Change]:
    """The leaf paths where ``old`` and ``new`` differ (JSON documents in strings compared inside).

    ``depth`` counts the levels above, JSON documents in strings included, so
    the walk stays within :data:`MAX_DEPTH` however documents nest.
    """
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new)):
            changes += compare(old.get(key, _ABSENT), new.get(key, _ABSENT), path + _key(key), depth + 1)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            change for index, (a, b) in enumerate(zip(old, new, strict=True)) for change in compare(a, b, path + _key(index), depth + 1)
        ]
    old_document, new_document = _document(old, depth), _document(new, depth)
    if old_document is not None and new_document is not None:
        return compare(old_document, new_document, path, depth)
    return [
        Change(
            path.lstrip("."),
            None if old is _ABSENT else old,
            None if new is _ABSENT else new,
            absent_before=old is _ABSENT,
            absent_after=new is _ABSENT,
        )
    ]


def forces_replacement(type_token: str, path: str) -> bool:
    """Whether changing input ``path`` of a ``type_token`` resource replaces it."""
    rules = REPLACE_ON_CHANGE.get(type_token, ()) + (REPLACE_ON_CHANGE["kubernetes:*"] if type_token.startswith("kubernetes:") else ())
    for prefix in rules:
        if prefix == "*":
            return not (path == "tags" or path.startswith(("tags.", "tags[", "tagsAll")))
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return True
    return False


def _by_address(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['type']}::{r['name']}": r for r in plan["resources"]}


def diff_plans(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    """What applying ``head`` does to a stack deployed as ``base``."""
    before, after = _by_address(base), _by_address(head)
    resources: list[ResourceDiff] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None:
            resources.append(ResourceDiff("create", after[key]["type"], after[key]["name"], inputs=after[key]["inputs"]))
            continue
        if new is None:
            resources.append(ResourceDiff("delete", old["type"], old["name"], inputs=old["inputs"]))
            continue
        changes = [
            Change(c.path, c.old, c.new, c.absent_before, c.absent_after, forces_replacement(new["type"], c.path))
            for c in compare(old["inputs"], new["inputs"])
        ]
        reasons = [
            f"its {attribute} changes: {old.get(attribute)} -> {new.get(attribute)}"
            for attribute in ("parent", "provider")
            if old.get(attribute) != new.get(attribute)
        ]
        if reasons or any(c.forces_replacement for c in changes):
            resources.append(ResourceDiff("replace", new["type"], new["name"], tuple(changes), tuple(reasons)))
        elif changes:
            resources.append(ResourceDiff("update", new["type"], new["name"], tuple(changes)))
    return PlanDiff(base.get("stack", "?"), head.get("stack", "?"), resources, base.get("policy"), head.get("policy"))


# --- rendering ------------------------------------------------------------------------------

SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
VALUE_LIMIT = 300
INPUT_ROWS = 40  # inputs listed for a created or deleted resource: a comment has to stay readable (and under GitHub's limit)


def show_value(value: Any, absent: bool = False) -> str:
    """A value as the diff prints it: JSON, cut at :data:`VALUE_LIMIT` characters."""
    if absent:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _change_line(change: Change) -> str:
    note = "  (forces replacement)" if change.forces_replacement else ""
    return f"{change.path}: {show_value(change.old, change.absent_before)} -> {show_value(change.new, change.absent_after)}{note}"


def _policy_lines(result: PlanDiff) -> list[str]:
    head = result.head_policy
    if head is None:
        return []
    base_keys = {(v["rule"], v["resource"], v["problem"]) for v in (result.base_policy or {}).get("violations", [])}
    new = [v for v in head.get("violations", []) if (v["rule"], v["resource"], v["problem"]) not in base_keys]
    count = len(head.get("violations", []))
    status = "passes" if head.get("passed") else f"fails with {count} violation{'s' if count != 1 else ''}"
    waived = len(head.get("waived", []))
    lines = [f"Policy: the head plan {status}" + (f" ({waived} waived)" if waived else "") + (f", {len(new)} new" if new else "") + "."]
    return lines + [f"  x {v['rule']}: {v['resource']}: {v['problem']} (fix: {v['fix']})" for v in new]


def render_text(result: PlanDiff) -> str:
    """The diff for a terminal."""
    title = result.head_stack if result.base_stack == result.head_stack else f"{result.base_stack} -> {result.head_stack}"
    lines = [f"Stack {title}:"]
    if not result.resources:
        lines.append("  no changes")
    for item in result.resources:
        lines.append(f"{SYMBOLS[item.action]:>3} {item.action:<7} {item.type} {item.name}")
        for reason in item.reasons:
            lines.append(f"        replaced because {reason}")
        for change in item.changes:
            lines.append(f"        {_change_line(change)}")
    lines += ["", result.summary(), *_policy_lines(result)]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    """Text in a Markdown code span, whatever backticks it holds."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [item for key in sorted(value) for item in _flatten(value[key], path + _key(key))]
    if isinstance(value, list) and value:
        return [item for index, entry in enumerate(value) for item in _flatten(entry, path + _key(index))]
    return [(path.lstrip("."), value)]


def render_markdown(result: PlanDiff) -> str:
    """The diff as a pull-request comment: the summary, a table, and collapsible details per resource."""
    title = result.head_stack if result.base_stack == result.head_stack else f"{result.base_stack} → {result.head_stack}"
    lines = [f"### Offline plan diff: stack `{title}`", "", f"**{result.summary()}**", ""]
    policy = _policy_lines(result)
    if policy:
        lines += [policy[0], *(f"- {line.strip()[2:]}" for line in policy[1:]), ""]
    if not result.resources:
        lines.append("No changes.")
        return "\n".join(lines) + "\n"
    lines += ["| | Action | Type | Name |", "|---|---|---|---|"]
    lines += [f"| `{SYMBOLS[r.action]}` | {r.action} | `{r.type}` | `{r.name}` |" for r in result.resources]
    lines.append("")
    for item in result.resources:
        lines += [
            f"<details><summary><code>{SYMBOLS[item.action]}</code> {item.action} <code>{item.type}</code> <b>{item.name}</b></summary>",
            "",
        ]
        lines += [f"Replaced because {_cell(reason)}." for reason in item.reasons]
        if item.changes:
            lines += ["", "| Input | Before | After |", "|---|---|---|"]
            for change in item.changes:
                mark = " (forces replacement)" if change.forces_replacement else ""
                before = show_value(change.old, change.absent_before)
                after = show_value(change.new, change.absent_after)
                lines.append(f"| {_cell(_inline(change.path))}{mark} | {_cell(_inline(before))} | {_cell(_inline(after))} |")
        elif item.inputs:
            rows = _flatten(item.inputs)
            lines += ["| Input | Value |", "|---|---|"]
            lines += [f"| {_cell(_inline(path))} | {_cell(_inline(show_value(value)))} |" for path, value in rows[:INPUT_ROWS]]
            if len(rows) > INPUT_ROWS:
                lines += ["", f"... and {len(rows) - INPUT_ROWS} more inputs (see the plan)."]
        lines += ["", "</details>", ""]
    return "\n".join(lines)
