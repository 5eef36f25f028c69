"""The offline plan of a stack: every resource it declares and what it renders, as deterministic JSON.

``mlops plan`` runs the stack's Pulumi program under the SDK's mocks (no
Pulumi CLI, no cloud credentials) and records each resource's type, logical
name, parent, provider and inputs, plus the artifacts they carry: Kubernetes
manifests, alert rules, Alertmanager routing, CloudWatch alarms, SageMaker
pipeline definitions and endpoint settings, and the resolved spec.

What only a deployment can know is marked, never invented: ids, ARNs, names
the cloud generates and (unless the spec declares it) the account id show as
``(known after apply)``. The mocks here hand the program well-formed values
carrying a token (the program builds names, URIs and pipeline definitions
from them, so the marker itself cannot go in), and the plan replaces every
token with the marker. Secrets the stack
keeps in Pulumi config are replaced by stand-ins, so a plan needs none of
them, and every value the program marks secret shows as ``[secret]``.

The same inputs give the same bytes: keys are sorted, resources are ordered
by type and name, parents and providers are named by type and name rather
than by URN, and file assets by their path in the project and a hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from mlops_dsl.contracts.aws import DEPLOY_CONFIG_ENV, DeployConfig
from mlops_dsl.loading.loader import ResolvedSpec, resolved_json
from mlops_dsl.loading.stack import Project, load_stack, read_stack
from mlops_dsl.review.markers import KNOWN_AFTER_APPLY, SECRET, UNKNOWN_ACCOUNT, UNKNOWN_TOKEN, address, stand_in
from mlops_dsl.review.mocks import MockRun, RecordedResource, Secret, StackMocks, run_stack
from mlops_dsl.review.policy.gates import evaluate, read_waivers, render_report
from mlops_dsl.review.policy.view import EndpointSettings
from mlops_dsl.spec.environment import AwsTarget

PLAN_FORMAT = 1


class _Normalizer:
    """Turns recorded inputs into plan JSON: markers for unknowns and secrets, portable assets."""

    def __init__(self, root: Path, account_id: str | None) -> None:
        self.root = root
        # Files come from the project, or from where this package is installed (the functions' code).
        self.roots = [root.resolve(), Path(__file__).resolve().parents[2]]  # the folder holding the mlops_dsl package
        self.tokens = [UNKNOWN_TOKEN] if account_id else [UNKNOWN_TOKEN, UNKNOWN_ACCOUNT]

    def text(self, value: str) -> str:
        if value == rpc.UNKNOWN:
            return KNOWN_AFTER_APPLY
        for token in self.tokens:
            value = value.replace(token, KNOWN_AFTER_APPLY)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Secret):
            return SECRET
        if isinstance(value, dict):
            return {self.text(str(key)): self(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)  # the engine's wire format has only doubles
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, pulumi.FileAsset):
            return {"file": self.path(value.path), "sha256": self.digest(Path(value.path))}
        if isinstance(value, pulumi.StringAsset):
            return {"string_sha256": hashlib.sha256(value.text.encode()).hexdigest()}
        if isinstance(value, (pulumi.RemoteAsset, pulumi.RemoteArchive)):
            return {"uri": value.uri}
        if isinstance(value, pulumi.AssetArchive):
            return {"archive": {name: self(item) for name, item in value.assets.items()}}
        if isinstance(value, pulumi.FileArchive):
            return {"file_archive": self.path(value.path), "sha256": self.digest(Path(value.path))}
        raise TypeError(f"no plan form for an input of type {type(value).__name__}")

    def path(self, value: str) -> str:
        """A file by its path in the project (or the installed package), so clones in different places plan alike."""
        path = Path(value)
        path = (path if path.is_absolute() else self.root / path).resolve()
        for root in self.roots:
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return path.as_posix()

    def digest(self, path: Path) -> str:
        path = path if path.is_absolute() else self.root / path
        if path.is_dir():
            hasher = hashlib.sha256()
            for item in sorted(p for p in path.rglob("*") if p.is_file()):
                hasher.update(item.relative_to(path).as_posix().encode() + b"\0" + item.read_bytes())
            return hasher.hexdigest()
        return hashlib.sha256(path.read_bytes()).hexdigest()


def _addresses(run: MockRun) -> dict[str, str]:
    return {r.urn: address(r.type, r.name) for r in run.resources}


def _reference(urns: dict[str, str], reference: str | None) -> str | None:
    """A parent URN or a provider reference (``urn::id``) as the address of the resource it names."""
    if not reference:
        return None
    if reference in urns:
        return urns[reference]
    urn = reference.rsplit("::", 1)[0]
    return urns.get(urn, urn.rsplit("::", 1)[-1])


def _resource(record: RecordedResource, urns: dict[str, str], normalize: _Normalizer) -> dict[str, Any]:
    return {
        "type": record.type,
        "name": record.name,
        "custom": record.custom,
        "parent": _reference(urns, record.parent),
        "provider": _reference(urns, record.provider),
        "dependencies": sorted({_reference(urns, urn) or urn for urn in record.dependencies}),
        "inputs": normalize(record.inputs),
    }


def _json_value(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def artifacts(resources: list[dict[str, Any]], resolved: ResolvedSpec) -> dict[str, Any]:
    """What the resources render, as reviewers read it: manifests, alerting, pipelines, endpoint settings, the spec."""
    manifests = [r["inputs"] for r in resources if r["type"].startswith("kubernetes:") and r["custom"]]

    def of_kind(kind: str) -> list[dict[str, Any]]:
        return [m for m in manifests if m.get("kind") == kind]

    pipelines = {
        r["inputs"].get("pipelineName", r["name"]): _json_value(r["inputs"].get("pipelineDefinition"))
        for r in resources
        if r["type"] == "aws:sagemaker/pipeline:Pipeline"
    }
    endpoints: dict[str, EndpointSettings] = {}
    for r in resources:
        if r["type"] != "aws:lambda/function:Function":
            continue
        environment = r["inputs"].get("environment")
        variables = environment.get("variables") if isinstance(environment, dict) else None
        config: DeployConfig | None = _json_value(variables.get(DEPLOY_CONFIG_ENV) if isinstance(variables, dict) else None)
        for settings in (config.get("groups", {}) if config else {}).values():
            endpoints[settings["endpoint"]] = EndpointSettings(**settings, declared_by=address(r["type"], r["name"]))
    return {
        "kubernetes_manifests": manifests,
        "prometheus_rules": [
            {"name": m["metadata"].get("name"), "namespace": m["metadata"].get("namespace"), "groups": m["spec"].get("groups", [])}
            for m in of_kind("PrometheusRule")
        ],
        "alertmanager_configs": [
            {"name": m["metadata"].get("name"), "namespace": m["metadata"].get("namespace"), **m["spec"]}
            for m in of_kind("AlertmanagerConfig")
        ],
        "cloudwatch_alarms": {
            r["inputs"].get("name", r["name"]): r["inputs"] for r in resources if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"
        },
        "sagemaker_pipelines": pipelines,
        "sagemaker_endpoints": endpoints,
        "platform_spec": json.loads(resolved_json(resolved)),
    }


def build_plan(project: Project, stack: str) -> dict[str, Any]:
    """The stack's plan without its policy result (see :func:`plan_stack`)."""
    from components.platform import secret_config_names

    resolved = load_stack(project, stack)
    declared = read_stack(project, stack).secrets
    names = sorted(set(secret_config_names(resolved)) | declared)
    target = resolved.target
    region = target.region if isinstance(target, AwsTarget) else "eu-west-1"
    account_id = target.account_id if isinstance(target, AwsTarget) else None
    mocks = StackMocks(region, account_id or UNKNOWN_ACCOUNT, UNKNOWN_TOKEN)
    run = run_stack(project, stack, secrets={n: stand_in(n) for n in names}, mocks=mocks)
    normalize = _Normalizer(project.root, account_id)
    urns = _addresses(run)
    resources = sorted((_resource(r, urns, normalize) for r in run.resources), key=lambda r: (r["type"], r["name"]))
    return {
        "format": PLAN_FORMAT,
        "project": project.name,
        "stack": stack,
        "platform": resolved.platform.name,
        "environment": resolved.environment,
        "stage": resolved.stage,
        "target": resolved.target.kind,
        "secrets": names,
        "resources": resources,
        "outputs": normalize(run.outputs),
        "artifacts": artifacts(resources, resolved),
    }


def plan_stack(project: Project, stack: str) -> dict[str, Any]:
    """The stack's plan, checked against the policy rules with the stack's waivers."""

    waivers = read_waivers(project, stack)  # a bad waiver is the user's mistake: report it before the run
    plan = build_plan(project, stack)
    plan["policy"] = evaluate(plan, waivers).as_json()
    return plan


def render(plan: dict[str, Any]) -> str:
    """The plan as the bytes ``--out`` writes: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def summary(plan: dict[str, Any]) -> str:
    """Resource counts by type, then the policy result, for a terminal."""
    counts = Counter(r["type"] for r in plan["resources"] if r["custom"])
    components = sum(1 for r in plan["resources"] if not r["custom"])
    width = max((len(t) for t in counts), default=0)
    lines = [
        f"Plan for stack {plan['stack']} ({plan['platform']}, environment {plan['environment']}, "
        f"stage {plan['stage']}, target {plan['target']}): {sum(counts.values())} resources in {components} components",
        *(f"  {count:>4}  {type_token:<{width}}" for type_token, count in sorted(counts.items())),
    ]
    policy = plan.get("policy")
    if policy is not None:
        lines += ["", render_report(policy)]
    return "\n".join(line.rstrip() for line in lines)
