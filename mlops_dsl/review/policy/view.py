"""What the policy rules work with: a read-only view of a plan, violations, and rules.

A rule's check is a function from a :class:`PlanView` to the :class:`Finding` s
it makes; :data:`mlops_dsl.review.policy.gates.RULES` names each check once, with
its id and the stages it applies to, and turns findings into :class:`Violation` s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_dsl.contracts.aws import DeploySettings
from mlops_dsl.review.markers import address
from mlops_dsl.spec.problems import join_path


class EndpointSettings(DeploySettings):
    """An endpoint's settings as a plan lists them: the deploy function's, and the function that declares them."""

    declared_by: str
    """The plan address (``type::name``) of the deploy function whose configuration holds the settings."""


@dataclass(frozen=True)
class Finding:
    """What a rule's check finds on one resource: the problem and how to fix it (the rule adds its id)."""

    resource: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Violation:
    """One rule broken by one resource: what is wrong and how to fix it."""

    rule: str
    resource: str
    problem: str
    fix: str


class PlanView:
    """Read access to a plan (the JSON ``mlops plan`` writes) for the rules."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.stage: str = plan.get("stage") or "dev"
        self.resources: list[dict[str, Any]] = plan.get("resources", [])
        self.artifacts: dict[str, Any] = plan.get("artifacts", {})

    def of_type(self, *type_tokens: str) -> list[dict[str, Any]]:
        """The resources of these types."""
        return [r for r in self.resources if r["type"] in type_tokens]

    def manifests(self, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(resource, manifest) of every Kubernetes object of ``kind``."""
        return [(r, r["inputs"]) for r in self.resources if r["type"].startswith("kubernetes:") and r["inputs"].get("kind") == kind]

    def serving_deployments(self, *, stable_only: bool) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
        """(resource, manifest, model) of each model server Deployment (canaries unless ``stable_only``)."""
        found = []
        for resource, manifest in self.manifests("Deployment"):
            labels = value_at(manifest, "spec", "template", "metadata", "labels") or {}
            model = labels.get("mlops.dev/model")
            if model and not (stable_only and labels.get("mlops.dev/role", "stable") != "stable"):
                found.append((resource, manifest, model))
        return found

    def endpoint_settings(self) -> dict[str, EndpointSettings]:
        """The settings of each SageMaker endpoint a deploy function creates, by endpoint name."""
        endpoints: dict[str, EndpointSettings] = self.artifacts.get("sagemaker_endpoints") or {}
        return endpoints

    def online_models(self) -> list[dict[str, Any]]:
        """The models of the resolved spec that serve online."""
        models = (self.artifacts.get("platform_spec") or {}).get("models", [])
        return [m for m in models if value_at(m, "serving", "online") is not False]


@dataclass(frozen=True)
class Rule:
    """A named check, the stages it applies to, and the function that finds its violations."""

    id: str
    summary: str
    prod_only: bool
    check: Callable[[PlanView], Iterator[Finding]]

    def applies_to(self, stage: str) -> bool:
        """Whether this rule is checked for an environment of ``stage``."""
        return stage == "prod" or not self.prod_only

    def violations(self, view: PlanView) -> Iterator[Violation]:
        """What this rule finds in a plan, each as a violation of this rule."""
        for finding in self.check(view):
            yield Violation(self.id, finding.resource, finding.problem, finding.fix)


def value_at(value: Any, *path: str | int) -> Any:
    """The value at ``path`` (keys and list positions), or None where the path leads nowhere."""
    for part in path:
        if isinstance(part, int):
            value = value[part] if isinstance(value, list) and len(value) > part else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def address_of(resource: dict[str, Any]) -> str:
    """A plan resource's ``type::name``."""
    return address(resource["type"], resource["name"])


def declared_in(settings: Mapping[str, Any]) -> str:
    """Where an endpoint's settings are declared (the deploy function creates the endpoint itself)."""
    return f" (settings in {settings['declared_by']})" if settings.get("declared_by") else ""


def labels_match(wanted: dict[str, Any] | None, labels: dict[str, Any]) -> bool:
    """Whether a (non-empty) label selector selects ``labels``."""
    return bool(wanted) and all(labels.get(k) == v for k, v in (wanted or {}).items())


def json_document(value: Any) -> Any:
    """A JSON object or array held in a string (policy documents, pipeline definitions), or None."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return None


def walk(value: Any, path: str = "", *, into_json: bool = False) -> Iterator[tuple[str, Any]]:
    """Every value inside ``value``, itself first, with its path (keys joined by dots, list positions as ``[i]``).

    With ``into_json``, a string holding a JSON object or array (a policy document, a
    pipeline definition) is walked too, under the string's own path.
    """
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, join_path(path, str(key)), into_json=into_json)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, join_path(path, index), into_json=into_json)
    elif into_json:
        document = json_document(value)
        if document is not None:
            yield from walk(document, path, into_json=True)


def pipeline_steps(steps: list[dict[str, Any]], inside_condition: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every step of a pipeline definition, with whether it runs inside a Condition step's branch."""
    for step in steps:
        yield step, inside_condition
        arguments = step.get("Arguments")
        arguments = arguments if isinstance(arguments, dict) else {}
        for branch in ("IfSteps", "ElseSteps"):
            yield from pipeline_steps(arguments.get(branch) or [], inside_condition or step.get("Type") == "Condition")
