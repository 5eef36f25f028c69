"""Policy gates: rules that matter for ML platforms, checked on every plan before anything deploys.

Each rule reads the plan (resources, their inputs and the rendered artifacts)
rather than the spec alone, so it holds whatever produced the resources.
A violation names its rule, the resource (``type::name``; ``model:<name>`` for
what the runtime reads from the spec; ``endpoint:<name>`` for a SageMaker
endpoint the deploy function creates), the problem and the fix; any
violation that is not waived makes ``mlops plan`` exit 1.

A stack may waive a violation with a stated reason, in its config::

    config:
      mlops:waivers:
        - rule: prod-serving-replicas
          resource: retail-fraud-deployment      # a logical name, or type::name
          reason: fraud scoring is shadow traffic until Q3; one replica is enough

A waived violation stays in the plan, with its reason. A waiver without a
reason, or naming no known rule, is the user's mistake (exit 2).

The rules live in :mod:`mlops_dsl.review.policy.serving` (prod serving and
monitoring) and :mod:`mlops_dsl.review.policy.security` (every stage), on the plan
view of :mod:`mlops_dsl.review.policy.view`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_dsl.loading.loader import display_path
from mlops_dsl.loading.stack import Project, stack_config
from mlops_dsl.review.policy.security import encryption_at_rest, plain_text_secrets, wildcard_actions
from mlops_dsl.review.policy.serving import (
    alarm_dimensions_and_actions,
    data_capture,
    endpoint_monitoring,
    gated_approval,
    serving_replicas,
)
from mlops_dsl.review.policy.view import PlanView, Rule, Violation
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, join_path, one_of

WAIVER_KEYS = ("rule", "resource", "reason")

RULES: tuple[Rule, ...] = (
    Rule("prod-endpoint-monitoring", "every prod endpoint is scraped or monitored and has alerts", True, endpoint_monitoring),
    Rule(
        "prod-alarm-dimensions-and-actions",
        "every prod alarm watches one resource and notifies someone",
        True,
        alarm_dimensions_and_actions,
    ),
    Rule("prod-data-capture", "prod endpoints capture their traffic", True, data_capture),
    Rule("encryption-at-rest", "storage is encrypted at rest", False, encryption_at_rest),
    Rule("no-wildcard-actions", "no IAM statement or RBAC rule allows wildcard actions", False, wildcard_actions),
    Rule("prod-serving-replicas", "prod serving runs at least two replicas", True, serving_replicas),
    Rule("prod-approval-gated", "prod promotion is manual or behind an evaluation gate", True, gated_approval),
    Rule("no-plaintext-secrets", "no secret appears in plain text", False, plain_text_secrets),
)
"""Every rule a plan is checked against; an id is what a waiver names, so renaming one breaks waivers."""


@dataclass(frozen=True)
class Waiver:
    """A stack's decision to accept one rule's violation on one resource, and why."""

    rule: str
    resource: str
    reason: str

    def covers(self, violation: Violation) -> bool:
        """Whether this waiver accepts ``violation`` (the resource by address or by logical name)."""
        names = {violation.resource, violation.resource.rsplit("::", 1)[-1]}
        return self.rule == violation.rule and self.resource in names


@dataclass
class PolicyReport:
    """What the rules found in one plan."""

    stage: str
    violations: list[Violation] = field(default_factory=list)
    waived: list[tuple[Violation, Waiver]] = field(default_factory=list)
    unused_waivers: list[Waiver] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every violation is waived."""
        return not self.violations

    def as_json(self) -> dict[str, Any]:
        """The report as it goes into the plan."""
        return {
            "passed": self.passed,
            "rules": [
                {"id": rule.id, "summary": rule.summary, "applies": rule.applies_to(self.stage)}
                for rule in sorted(RULES, key=lambda r: r.id)
            ],
            "violations": [asdict(v) for v in self.violations],
            "waived": [{**asdict(v), "reason": w.reason} for v, w in self.waived],
            "unused_waivers": [asdict(w) for w in self.unused_waivers],
        }


def evaluate(plan: dict[str, Any], waivers: list[Waiver] | tuple[Waiver, ...] = ()) -> PolicyReport:
    """Check a plan against every rule that applies to its stage; apply the waivers."""
    view = PlanView(plan)
    found = sorted(
        {violation for rule in RULES if rule.applies_to(view.stage) for violation in rule.violations(view)},
        key=lambda v: (v.rule, v.resource, v.problem),
    )
    report = PolicyReport(stage=view.stage)
    used: set[Waiver] = set()
    for violation in found:
        waiver = next((w for w in waivers if w.covers(violation)), None)
        if waiver is None:
            report.violations.append(violation)
        else:
            report.waived.append((violation, waiver))
            used.add(waiver)
    report.unused_waivers = [w for w in waivers if w not in used]
    return report


def read_waivers(project: Project, stack: str) -> list[Waiver]:
    """The waivers in a stack's config (``<project>:waivers``); a bad one is a :class:`SpecError`."""
    key = f"{project.name}:waivers"
    raw = stack_config(project, stack).get(key)
    if raw is None:
        return []
    source = display_path(project.stack_file(stack))
    base = f"config.{key}"
    if not isinstance(raw, list):
        raise SpecError([Problem(base, got_allowed(raw, "a list of {rule, resource, reason} mappings"), source=source)])
    problems: list[Problem] = []
    waivers: list[Waiver] = []
    rule_ids = {rule.id for rule in RULES}
    for index, item in enumerate(raw):
        where = join_path(base, index)
        if not isinstance(item, dict):
            problems.append(Problem(where, got_allowed(item, "a mapping with rule, resource and reason"), source=source))
            continue
        for extra in sorted(set(map(str, item)) - set(WAIVER_KEYS)):
            problems.append(
                Problem(join_path(where, extra), got_allowed(extra, one_of(WAIVER_KEYS), "unknown waiver field"), source=source)
            )
        values = {name: item.get(name) for name in WAIVER_KEYS}
        for name, value in values.items():
            if not isinstance(value, str) or not value.strip():
                allowed = {
                    "rule": f"a rule id, {one_of(rule_ids)}",
                    "resource": "the violation's resource: a logical name, type::name, endpoint:<name> or model:<name>",
                    "reason": "why the violation is acceptable, in words (a waiver needs a reason)",
                }[name]
                problems.append(Problem(join_path(where, name), got_allowed(value, allowed), source=source))
        rule = values["rule"]
        if isinstance(rule, str) and rule.strip() and rule not in rule_ids:
            problems.append(Problem(join_path(where, "rule"), got_allowed(rule, one_of(rule_ids), "no such rule"), source=source))
        if not problems:
            waivers.append(Waiver(str(values["rule"]), str(values["resource"]).strip(), str(values["reason"]).strip()))
    if problems:
        raise SpecError(problems)
    return waivers


def render_report(policy: dict[str, Any]) -> str:
    """The policy result of a plan (its ``policy`` section), for a terminal."""
    rules = policy["rules"]
    applied = sum(1 for rule in rules if rule["applies"])
    violations, waived = policy["violations"], policy["waived"]
    if violations:
        plural = "" if len(violations) == 1 else "s"
        head = f"Policy: FAILED, {len(violations)} violation{plural}"
    else:
        head = "Policy: passed"
    head += f" ({applied} of {len(rules)} rules apply to this stage"
    head += f", {len(waived)} waived)" if waived else ")"
    lines = [head]
    for v in violations:
        lines.append(f"  x {v['rule']}: {v['resource']}: {v['problem']}")
        lines.append(f"      fix: {v['fix']}")
    for v in waived:
        lines.append(f"  ~ waived {v['rule']}: {v['resource']}: {v['problem']}")
        lines.append(f"      reason: {v['reason']}")
    for w in policy.get("unused_waivers", []):
        lines.append(f"  ? waiver matches nothing: {w['rule']} on {w['resource']} (remove it if the violation is gone)")
    return "\n".join(lines)
