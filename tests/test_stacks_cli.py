"""`mlops validate --stack`, `mlops validate` and `mlops schema`, on this project and on broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.loading.loader import import_declaration
from mlops_dsl.spec.base import to_data

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.splitlines(), err.splitlines()


@pytest.fixture
def in_project(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def write_stack(project: Path, name: str, body: str) -> None:
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(body)


def test_every_stack_of_the_project_validates(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate"], capsys)
    stacks = sorted(p.name for p in (in_project / "stacks").glob("Pulumi.*.yaml"))
    assert code == 0, err
    assert len(out) == len(stacks) >= 4
    assert all(": valid: target " in line for line in out)


@pytest.mark.parametrize("stack", sorted(p.name[7:-5] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")))
def test_each_stack_validates_on_its_own(stack: str, in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", "--stack", stack], capsys)
    assert code == 0, err
    assert out == [out[0]] and out[0].startswith(f"stack {stack}: valid")


def test_a_stack_that_does_not_exist(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate", "--stack", "churn-qa"], capsys)
    assert code == 2
    assert err == [
        "--stack: no such stack; got 'churn-qa'; allowed: a stack with a file in stacks: "
        "one of 'churn-dev', 'churn-prod', 'churn-staging', 'retail-prod'"
    ]


def test_a_stack_that_is_not_yaml(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(scratch_project, "broken", "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: [dev\n")
    code, _, err = run(["validate", "--stack", "broken"], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("stacks/Pulumi.broken.yaml:") and "is not valid YAML" in err[0]


def test_a_stack_without_a_spec_or_environment(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(scratch_project, "empty", "config:\n  aws:region: eu-west-1\n")
    code, _, err = run(["validate", "--stack", "empty"], capsys)
    assert code == 2
    assert err == [
        "stacks/Pulumi.empty.yaml: config.mlops:spec: got None; allowed: the path of the platform spec file, relative to the project",
        "stacks/Pulumi.empty.yaml: config.mlops:environment: got None; allowed: the name of an environment declared in the spec",
    ]


def test_a_stack_naming_an_environment_the_spec_lacks(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(scratch_project, "prd", "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: production\n")
    code, _, err = run(["validate", "--stack", "prd"], capsys)
    assert code == 2
    assert err == [
        "stacks/Pulumi.prd.yaml: config.mlops:environment: no such environment; got 'production'; "
        "allowed: an environment of the spec: one of 'dev', 'local', 'prod', 'staging'"
    ]


def test_a_stack_naming_a_missing_spec_file(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(scratch_project, "dev", "config:\n  mlops:spec: spec/nope.py\n  mlops:environment: dev\n")
    code, _, err = run(["validate", "--stack", "dev"], capsys)
    assert code == 2
    assert err == [f"spec/nope.py: spec file not found; got '{scratch_project / 'spec/nope.py'}'; allowed: an existing Python spec file"]


def test_a_stack_override_that_breaks_a_value_blames_the_stack_file(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(
        scratch_project,
        "staging",
        "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: staging\n"
        "  mlops:overrides:\n    models.churn.serving.canary.percent: 120\n",
    )
    code, _, err = run(["validate", "--stack", "staging"], capsys)
    assert code == 2
    assert err == ["stacks/Pulumi.staging.yaml [staging]: models.churn.serving.canary.percent: got 120; allowed: 1 to 99"]


def test_a_stack_override_of_an_unknown_model(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(
        scratch_project,
        "staging",
        "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: staging\n  mlops:overrides:\n    models.chrun.serving.replicas: 3\n",
    )
    code, _, err = run(["validate", "--stack", "staging"], capsys)
    assert code == 2
    assert err == [
        "stacks/Pulumi.staging.yaml [staging]: config.mlops:overrides['models.chrun.serving.replicas']: "
        "models has no item named 'chrun'; got 'chrun'; allowed: one of 'churn'"
    ]


def test_a_secret_in_plain_text_is_refused(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(
        scratch_project,
        "prod",
        "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: prod\n"
        "  mlops:slackWebhookUrl: https://hooks.slack.com/services/T000/B000/XXXX\n"
        "  mlops:retrainWebhookToken:\n    secure: AAABAJ0xZ2VuZXJhdGVk\n",
    )
    code, _, err = run(["validate", "--stack", "prod"], capsys)
    assert code == 2
    assert err == [
        "stacks/Pulumi.prod.yaml [prod]: config.mlops:slackWebhookUrl: secrets must not be stored as plain text; "
        "got 'plain text'; allowed: a secret: pulumi config set --secret slackWebhookUrl <value>"
    ]


def test_a_stack_for_the_local_environment_is_refused(scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(scratch_project, "laptop", "config:\n  mlops:spec: spec/platform.py\n  mlops:environment: local\n")
    code, _, err = run(["validate", "--stack", "laptop"], capsys)
    assert code == 2
    assert len(err) == 1 and "config.mlops:environment: the local target runs with `mlops up`, not Pulumi" in err[0]


def test_validate_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["validate", "--stack", "dev"], capsys)
    assert code == 2
    assert len(err) == 1 and "no Pulumi.yaml in" in err[0]


def test_a_spec_file_validates_every_environment(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "examples/churn/platform.py"], capsys)
    assert code == 0
    assert [line.split(":")[0] for line in out] == [f"examples/churn/platform.py [{env}]" for env in ("local", "dev", "staging", "prod")]


def test_one_environment_of_a_spec_file(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "examples/retail/platform.py", "--env", "prod"], capsys)
    assert code == 0
    assert out == ["examples/retail/platform.py [prod]: valid: target kubernetes, stage prod, 3 models, 4 feature views, 8 monitors"]


def test_env_without_a_spec_file_is_a_usage_error(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate", "--env", "prod"], capsys)
    assert code == 2 and len(err) == 1


def test_an_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--stak", "dev"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unrecognized arguments: --stak" in err[0]


def test_the_schema_is_valid_json_schema_that_accepts_the_examples_and_rejects_mistakes(
    in_project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = run(["schema", "--out", str(tmp_path / "schema.json")], capsys)
    assert code == 0
    schema = json.loads((tmp_path / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for example in ("examples/churn/platform.py", "examples/retail/platform.py"):
        data = to_data(import_declaration(Path(example)))
        assert list(validator.iter_errors(data)) == []
    data = to_data(import_declaration(Path("examples/churn/platform.py")))
    data["models"][0]["serving"]["canary"]["percent"] = 150
    best = jsonschema.exceptions.best_match(validator.iter_errors(data))
    assert best is not None and list(best.absolute_path) == ["models", 0, "serving", "canary", "percent"]


def test_the_schema_goes_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "MLOps platform spec"
    assert {"name", "feature_store", "models"} <= set(schema["required"])


def test_schema_defaults_are_written_as_specs_write_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$defs"]["Canary"]["properties"]["bake_time"]["default"] == "15m"


def test_the_spec_reference_in_docs_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--format", "markdown"]) == 0
    generated = capsys.readouterr().out
    committed = (ROOT / "docs/spec-reference.md").read_text()
    assert generated == committed, "regenerate with: mlops schema --format markdown --out docs/spec-reference.md"
    assert "| `percent` | integer | required | >= 1; <= 99 |" in generated
