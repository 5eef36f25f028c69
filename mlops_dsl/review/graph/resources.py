"""The resources a stack creates, grouped by the component that owns them.

A stack's program is a tree of components (``mlops:<target>:<Type>``) whose
leaves are cloud and cluster resources. Each resource belongs to its nearest
component ancestor; that component's type says which part of the platform it
is (feature store, serving, ...). Resources the platform component owns
directly (the provider, the encryption key) are the foundation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.loading.stack import Project
from mlops_dsl.review.markers import stand_in
from mlops_dsl.review.mocks import MockRun, run_stack

PART_OF_COMPONENT: dict[str, str] = {
    "Platform": "foundation",
    "Foundation": "foundation",
    "Storage": "foundation",
    "FeatureStore": "feature_store",
    "Training": "training",
    "TrainingPipeline": "training",
    "ModelRegistry": "registry",
    "ModelServing": "serving",
    "Monitoring": "monitoring",
    "RetrainingWebhook": "retraining",
    "RetrainingTrigger": "retraining",
}
"""The part of the platform each component type (the last segment of its token) builds."""


@dataclass(frozen=True)
class ResourceGroup:
    """The resources one component owns: how many, and how many of each type."""

    urn: str
    component: str
    component_type: str
    part: str
    counts: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        """How many resources the component owns."""
        return sum(n for _, n in self.counts)


def short_type(token: str) -> str:
    """A resource type as people say it: ``kubernetes:apps/v1:Deployment`` is ``Deployment``."""
    package, _, rest = token.partition(":")
    if package == "pulumi" and rest.startswith("providers:"):
        return f"{rest.partition(':')[2]} provider"
    return token.rsplit(":", 1)[-1]


def resource_groups(run: MockRun) -> list[ResourceGroup]:
    """Every component that owns resources, with its counts, in declaration order."""
    by_urn = {r.urn: r for r in run.resources}
    owned: dict[str, Counter[str]] = {}
    for resource in run.resources:
        if not resource.custom:
            continue
        owner = resource.parent
        while owner in by_urn and by_urn[owner].custom:
            owner = by_urn[owner].parent
        if owner is None or owner not in by_urn:
            raise ValueError(f"resource {resource.name} ({resource.type}) has no component above it")
        owned.setdefault(owner, Counter())[short_type(resource.type)] += 1
    groups = []
    for urn, counts in owned.items():
        component = by_urn[urn]
        kind = component.type.rsplit(":", 1)[-1]
        ordered = tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        groups.append(ResourceGroup(urn, component.name, kind, PART_OF_COMPONENT.get(kind, "other"), ordered))
    return groups


def stand_in_secrets(spec: ResolvedSpec) -> dict[str, str]:
    """A made-up value for every config secret the stack's program reads, so it runs without the real ones (as in a plan)."""
    from components.platform import secret_config_names

    return {name: stand_in(name) for name in secret_config_names(spec)}


def stack_resources(project: Project, stack: str, spec: ResolvedSpec) -> list[ResourceGroup]:
    """Run the stack's program under Pulumi's mocks (no CLI, no cloud) and group what it declares."""
    return resource_groups(run_stack(project, stack, secrets=stand_in_secrets(spec)))


__all__ = ["PART_OF_COMPONENT", "ResourceGroup", "resource_groups", "short_type", "stack_resources", "stand_in_secrets"]
