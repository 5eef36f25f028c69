"""`mlops diff`: what a change does between two plans, as text and as a pull-request comment."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.review.diff import diff_plans, forces_replacement, load_plan, render_markdown, render_text
from mlops_dsl.review.plan import render
from tests.helpers.plans import plan_of, resource, seeded_stack

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def plan(*resources: dict[str, Any], stack: str = "demo") -> dict[str, Any]:
    return {"stack": stack, "resources": list(resources)}


def res(type_token: str, name: str, inputs: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return {"type": type_token, "name": name, "custom": True, "parent": parent, "provider": None, "dependencies": [], "inputs": inputs}


def deployment(name: str = "web", replicas: int = 2, namespace: str = "ml") -> dict[str, Any]:
    return res(DEPLOYMENT, name, {"metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": replicas}})


def actions(base: dict[str, Any], head: dict[str, Any]) -> dict[str, str]:
    return {f"{r.type}::{r.name}": r.action for r in diff_plans(base, head).resources}


def test_create_update_replace_delete_and_the_summary_line() -> None:
    base = plan(deployment("web"), deployment("old"), deployment("moved"))
    head = plan(deployment("web", replicas=3), deployment("new"), deployment("moved", namespace="ml-2"))
    result = diff_plans(base, head)
    assert actions(base, head) == {
        f"{DEPLOYMENT}::moved": "replace",
        f"{DEPLOYMENT}::new": "create",
        f"{DEPLOYMENT}::old": "delete",
        f"{DEPLOYMENT}::web": "update",
    }
    assert result.summary() == "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete."
    text = render_text(result)
    assert "spec.replicas: 2 -> 3" in text
    assert 'metadata.namespace: "ml" -> "ml-2"  (forces replacement)' in text
    assert text.splitlines()[-1] == "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete."


def test_no_changes() -> None:
    result = diff_plans(plan(deployment()), plan(deployment()))
    assert result.resources == []
    assert "no changes" in render_text(result)
    assert result.summary() == "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete."


def test_a_new_type_or_name_is_a_delete_and_a_create() -> None:
    base = plan(res("aws:sns/topic:Topic", "alerts", {"name": "a"}))
    renamed = plan(res("aws:sns/topic:Topic", "alerts-v2", {"name": "a"}))
    retyped = plan(res("aws:sqs/queue:Queue", "alerts", {"name": "a"}))
    for head in (renamed, retyped):
        assert sorted(actions(base, head).values()) == ["create", "delete"]


@pytest.mark.parametrize(
    ("type_token", "path", "replaces"),
    [
        (DEPLOYMENT, "metadata.name", True),
        (DEPLOYMENT, "metadata.labels.app", False),
        (DEPLOYMENT, "spec.selector.matchLabels.app", True),
        ("kubernetes:core/v1:ConfigMap", "metadata.namespace", True),
        ("aws:s3/bucket:Bucket", "bucket", True),
        ("aws:s3/bucket:Bucket", "bucketPrefix", True),
        ("aws:s3/bucket:Bucket", "forceDestroy", False),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "productionVariants[0].initialInstanceCount", True),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "dataCaptureConfig.enableCapture", True),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "tags.team", False),
        ("aws:lambda/function:Function", "environment.variables.X", False),
        ("aws:lambda/function:Function", "name", True),
    ],
)
def test_properties_that_force_replacement(type_token: str, path: str, replaces: bool) -> None:
    assert forces_replacement(type_token, path) is replaces


def test_a_new_parent_replaces_the_resource() -> None:
    base = plan(res("aws:sns/topic:Topic", "alerts", {"name": "a"}, parent="mlops:aws:Monitoring::m"))
    head = plan(res("aws:sns/topic:Topic", "alerts", {"name": "a"}, parent="mlops:aws:Platform::p"))
    (item,) = diff_plans(base, head).resources
    assert item.action == "replace"
    assert item.reasons == ("its parent changes: mlops:aws:Monitoring::m -> mlops:aws:Platform::p",)


def test_json_documents_in_strings_are_compared_inside() -> None:
    def role_policy(actions: list[str]) -> dict[str, Any]:
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": ["arn:x"]}]}
        return res("aws:iam/rolePolicy:RolePolicy", "p", {"policy": json.dumps(document)})

    (item,) = diff_plans(plan(role_policy(["s3:GetObject"])), plan(role_policy(["s3:PutObject"]))).resources
    assert item.action == "update"
    assert [(c.path, c.old, c.new) for c in item.changes] == [("policy.Statement[0].Action[0]", "s3:GetObject", "s3:PutObject")]


def test_keys_with_dots_are_quoted_and_absent_values_named() -> None:
    base = plan(res(DEPLOYMENT, "web", {"metadata": {"labels": {"app.kubernetes.io/name": "a"}}}))
    head = plan(res(DEPLOYMENT, "web", {"metadata": {"labels": {}}}))
    assert 'metadata.labels["app.kubernetes.io/name"]: "a" -> (absent)' in render_text(diff_plans(base, head))


def test_markdown_has_a_table_and_collapsible_details() -> None:
    base = plan(deployment("web"), deployment("old"))
    head = plan(deployment("web", replicas=3), deployment("new"))
    text = render_markdown(diff_plans(base, head))
    assert "**Plan: 1 to create, 1 to update, 0 to replace, 1 to delete.**" in text
    assert f"| `~` | update | `{DEPLOYMENT}` | `web` |" in text
    assert f"<details><summary><code>~</code> update <code>{DEPLOYMENT}</code> <b>web</b></summary>" in text
    assert "| `spec.replicas` | `2` | `3` |" in text
    assert '| `metadata.name` | `"new"` |' in text  # a created resource lists its inputs
    assert text.count("<details>") == text.count("</details>") == 3


def test_markdown_escapes_table_pipes() -> None:
    base = plan(res("kubernetes:core/v1:ConfigMap", "c", {"data": {"q": "a|b"}}))
    head = plan(res("kubernetes:core/v1:ConfigMap", "c", {"data": {"q": "a|c"}}))
    assert '| `data.q` | `"a\\|b"` | `"a\\|c"` |' in render_markdown(diff_plans(base, head))


def test_policy_results_of_the_head_are_shown() -> None:
    violation = {"rule": "prod-serving-replicas", "resource": f"{DEPLOYMENT}::web", "problem": "one replica", "fix": "two"}
    base = {**plan(deployment()), "policy": {"passed": True, "violations": [], "waived": []}}
    head = {**plan(deployment(replicas=1)), "policy": {"passed": False, "violations": [violation], "waived": []}}
    text = render_text(diff_plans(base, head))
    assert "Policy: the head plan fails with 1 violation, 1 new." in text
    assert f"x prod-serving-replicas: {DEPLOYMENT}::web: one replica (fix: two)" in text


def test_a_real_change_to_a_stack(tmp_path: Path) -> None:
    """churn-staging with a higher autoscaling ceiling and no batch scoring."""
    stacks = seeded_stack(
        tmp_path / "stacks",
        "churn-staging",
        "config:\n  mlops:spec: examples/churn/platform.py\n  mlops:environment: staging\n  mlops:overrides:\n"
        "    models.churn.serving.autoscaling.max_replicas: 6\n    models.churn.serving.batch: null\n",
    )
    base, head = plan_of("churn-staging"), plan_of("churn-staging", stacks)
    result = diff_plans(base, head)
    assert {(r.action, r.name) for r in result.resources} == {
        ("update", "churn-churn-autoscaler"),
        ("update", "churn-foundation-spec"),
        ("delete", "churn-churn-batch"),
    }
    autoscaler = next(r for r in result.resources if r.name == "churn-churn-autoscaler")
    assert [(c.path, c.old, c.new) for c in autoscaler.changes] == [("spec.maxReplicas", 4, 6)]
    assert (
        resource(head, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "churn-churn-autoscaler")["inputs"]["spec"]["maxReplicas"] == 6
    )
    assert result.summary() == "Plan: 0 to create, 2 to update, 0 to replace, 1 to delete."


def test_a_namespace_change_replaces_every_namespaced_object() -> None:
    base = plan_of("churn-dev")
    head = copy.deepcopy(base)
    namespaced = 0
    for item in head["resources"]:
        metadata = item["inputs"].get("metadata")
        if isinstance(metadata, dict) and metadata.get("namespace") == "churn-dev":
            metadata["namespace"] = "churn-dev-2"
            namespaced += 1
    result = diff_plans(base, head)
    assert namespaced > 10
    assert result.count("replace") == namespaced and result.count("update") == 0


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    code = main(["diff", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.splitlines()


def test_cli_diff_in_text_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base.json").write_text(render(plan(deployment())))
    (tmp_path / "head.json").write_text(render(plan(deployment(replicas=3))))
    code, out, err = cli([str(tmp_path / "base.json"), str(tmp_path / "head.json")], capsys)
    assert (code, err) == (0, [])
    assert "spec.replicas: 2 -> 3" in out and out.rstrip().endswith("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.")
    code, out, _ = cli([str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--format", "markdown"], capsys)
    assert code == 0 and out.startswith("### Offline plan diff: stack `demo`")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read: No such file or directory"),
        ("{not json", "is not JSON: "),
        ('{"resources": [{"type": "t"}]}', "is not a plan: expected the JSON `mlops plan --out` writes"),
        ("[1, 2]", "is not a plan"),
    ],
)
def test_bad_input_files_are_one_line_and_exit_2(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(render(plan(deployment())))
    if content is not None:
        bad.write_text(content)
    code, out, err = cli([str(good), str(bad)], capsys)
    assert code == 2 and out == ""
    assert len(err) == 1 and err[0].startswith(f"{bad}: {message}")
    with pytest.raises(Exception, match=r"bad\.json"):
        load_plan(bad)


def test_markdown_lists_at_most_forty_inputs_of_a_created_resource() -> None:
    big = res("kubernetes:core/v1:ConfigMap", "big", {"data": {f"k{i:02}": str(i) for i in range(50)}})
    text = render_markdown(diff_plans(plan(), plan(big)))
    assert '| `data.k39` | `"39"` |' in text and "data.k40" not in text
    assert "... and 10 more inputs (see the plan)." in text
