"""Every command line the deploy side renders for the runtime parses with the ``mlops`` CLI's own parser.

The Kubernetes stacks' workloads (Deployments, StatefulSets, Jobs, CronJobs)
and the Job templates the retraining webhook copies, the SageMaker pipeline
steps of the AWS stacks, and the local target's processes: each container or
process that runs the runtime's ``mlops`` entrypoint has its arguments parsed
by :func:`mlops_dsl.cli.main.build_parser`, so a renamed or removed flag fails
here rather than in a cluster. Each also sets only ``MLOPS_`` environment
variables that :mod:`mlops_dsl.contracts.environment` declares.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_dsl.cli.main import build_parser
from mlops_dsl.contracts import environment
from mlops_dsl.contracts.environment import TRIGGER_URL_ENV
from mlops_dsl.contracts.retraining import RunRequest
from mlops_dsl.loading.loader import load_platform
from mlops_dsl.loading.stack import load_stack
from mlops_dsl.local.layout import LocalPlatform, python_command
from mlops_dsl.review.mocks import kubernetes_manifests, reveal
from mlops_dsl.runtime.retraining.backends import KubernetesJobBackend
from mlops_dsl.runtime.services import local_trainer_command
from mlops_dsl.runtime.state import StatePaths
from mlops_dsl.spec.environment import LocalTarget
from tests.conftest import PROJECT, ROOT, StackRuns, stacks_of

KUBERNETES_STACKS = stacks_of("kubernetes")
AWS_STACKS = stacks_of("aws")
EXAMPLES = sorted((ROOT / "examples").glob("*/platform.py"))
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")
EXPRESSION = "pipeline-expression"
"""What a SageMaker pipeline expression ({"Get": ...}, {"Std:Join": ...}) stands for in a parsed command line."""


def exact_parser() -> argparse.ArgumentParser:
    """The CLI's own parser, but refusing abbreviated flags: a rendered command line names each flag in full.

    (argparse accepts any unambiguous prefix, so ``--spec`` would still parse after a rename to
    ``--spec-file``, until some other flag starts with ``--spec``.)
    """
    parser = build_parser()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers += action.choices.values()
    for each in parsers:
        each.allow_abbrev = False
    return parser


def parse(where: str, args: list[str]) -> argparse.Namespace:
    """``args`` parsed by the ``mlops`` parser; the test fails with ``where`` and the parser's message if they do not parse."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            parsed = exact_parser().parse_args(args)
    except SystemExit:  # argparse exits on a usage error (and on --help or --version, which no service runs with)
        pytest.fail(f"{where}: `mlops {' '.join(args)}` does not parse: {errors.getvalue().strip() or 'the parser exited'}")
    if getattr(parsed, "handler", None) is None:
        pytest.fail(f"{where}: `mlops {' '.join(args)}` names no command")
    return parsed


def check_environment(where: str, names: list[str]) -> None:
    """Every ``MLOPS_`` name set is one contracts.environment declares."""
    undeclared = sorted(n for n in names if n.startswith("MLOPS_") and n not in environment.NAMES)
    if undeclared:
        pytest.fail(f"{where}: sets {', '.join(undeclared)}, not declared in mlops_dsl.contracts.environment")


def test_the_checks_can_fail() -> None:
    # A check that cannot fail proves nothing.
    with pytest.raises(pytest.fail.Exception, match=r"model-server: `mlops serve --no-such-flag x` does not parse: .*unrecognized"):
        parse("model-server", ["serve", "--no-such-flag", "x"])
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        parse("model-server", ["serve", "--poll", "1"])  # an abbreviation of --poll-interval
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        parse("nothing", ["no-such-command"])
    assert parse("model-server", ["serve", "--poll-interval", "1"]).poll_interval == 1
    with pytest.raises(pytest.fail.Exception, match="MLOPS_UNDECLARED"):
        check_environment("trainer", [environment.SPEC_ENV, "MLOPS_UNDECLARED", "POD_NAMESPACE"])
    check_environment("trainer", [*sorted(environment.NAMES), "POD_NAMESPACE"])


def test_the_contract_declares_one_name_per_constant() -> None:
    constants = {name: value for name, value in vars(environment).items() if name.endswith("_ENV")}
    assert set(constants.values()) == environment.NAMES and len(constants) == len(environment.NAMES)
    assert all(value.startswith("MLOPS_") for value in constants.values())


# --- Kubernetes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kubernetes_runs() -> StackRuns:
    return StackRuns(KUBERNETES_STACKS)


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a workload (a CronJob's through its Job template)."""
    spec = manifest["spec"]["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else manifest["spec"]
    return dict(spec["template"]["spec"])


def check_pod(where: str, pod: dict[str, Any], image: str) -> list[argparse.Namespace]:
    """Check every container of a pod; returns the parsed command lines of those that run ``mlops``."""
    parsed = []
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        label = f"{where} container {container['name']}"
        check_environment(label, [e["name"] for e in container.get("env", [])])
        # The runtime image's entrypoint is `mlops` (Dockerfile); a container with its own command runs something else.
        if container["image"] == image and "command" not in container:
            parsed.append(parse(label, list(container.get("args", []))))
    return parsed


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_kubernetes_workload_runs_a_command_line_the_cli_parses(stack: str, kubernetes_runs: StackRuns) -> None:
    image = load_stack(PROJECT, stack).platform.image
    commands = []
    for manifest in kubernetes_manifests(kubernetes_runs[stack]):
        if manifest["kind"] in WORKLOADS:
            where = f"{stack}: {manifest['kind']} {manifest['metadata']['name']}"
            commands += [parsed.command for parsed in check_pod(where, pod_spec(manifest), image)]
    assert {"serve", "monitor", "trigger", "train", "features"} <= set(commands)


def job_templates(manifests: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The Job templates the retraining webhook copies (the ConfigMap mounted at its --job-templates), and its own URL."""
    for deployment in [m for m in manifests if m["kind"] == "Deployment"]:
        pod = pod_spec(deployment)
        for container in pod["containers"]:
            if container.get("args", [])[:1] != ["trigger"]:
                continue
            args = parse(f"Deployment {deployment['metadata']['name']}", container["args"])
            [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == args.job_templates]
            [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
            [config_map] = [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == volume["configMap"]["name"]]
            templates = {key.removesuffix(".yaml"): yaml.safe_load(text) for key, text in config_map["data"].items()}
            url = next((e.get("value") for e in container["env"] if e["name"] == TRIGGER_URL_ENV), None)
            return templates, url
    raise AssertionError("no retraining webhook Deployment")


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_the_jobs_the_retraining_webhook_creates_run_command_lines_the_cli_parses(stack: str, kubernetes_runs: StackRuns) -> None:
    platform = load_stack(PROJECT, stack).platform
    templates, url = job_templates(kubernetes_manifests(kubernetes_runs[stack]))
    assert set(templates) == {m.name for m in platform.models}
    backend = KubernetesJobBackend("test", templates, api=object(), result_url=url)
    for model in platform.models:
        where = f"{stack}: Job template {model.name}"
        assert templates[model.name]["kind"] == "Job", where
        check_pod(where, templates[model.name]["spec"]["template"]["spec"], platform.image)
        # The Job as the webhook creates it, with the run's variables added.
        job = backend.job(RunRequest(run_id="run-1", model=model.name, reason="manual"))
        [parsed] = check_pod(f"{where} (as created)", job["spec"]["template"]["spec"], platform.image)
        assert (parsed.command, parsed.model) == ("train", model.name)


# --- AWS (SageMaker pipelines) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_runs() -> StackRuns:
    return StackRuns(AWS_STACKS)


def plain(value: Any) -> Any:
    """A command-line value with each pipeline expression (a dict) replaced by a placeholder."""
    if isinstance(value, dict):
        return EXPRESSION
    if isinstance(value, list):
        return [plain(v) for v in value]
    return str(value)


def steps_of(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, a condition's branches included."""
    found = []
    for step in steps:
        found.append(step)
        if step["Type"] == "Condition":
            found += steps_of([*step["Arguments"].get("IfSteps", []), *step["Arguments"].get("ElseSteps", [])])
    return found


def step_command(step: dict[str, Any]) -> tuple[list[str], list[str], str] | None:
    """A processing or training step's (entrypoint, arguments, image), or None for other steps."""
    arguments = step["Arguments"]
    if step["Type"] in ("Processing", "QualityCheck"):
        app = arguments["AppSpecification"]
        return plain(app.get("ContainerEntrypoint", [])), plain(app.get("ContainerArguments", [])), app["ImageUri"]
    if step["Type"] == "Training":
        algorithm = arguments["AlgorithmSpecification"]
        entrypoint = plain(algorithm.get("ContainerEntrypoint", []))
        return entrypoint, plain(algorithm.get("ContainerArguments", [])), algorithm["TrainingImage"]
    return None


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_sagemaker_pipeline_step_runs_a_command_line_the_cli_parses(stack: str, aws_runs: StackRuns) -> None:
    pipelines = aws_runs[stack].of_type("aws:sagemaker/pipeline:Pipeline")
    assert pipelines
    for pipeline in pipelines:
        definition = json.loads(reveal(pipeline.inputs)["pipelineDefinition"])
        runtime_images = set()
        steps = []
        for step in steps_of(definition["Steps"]):
            where = f"{stack}: pipeline {pipeline.name} step {step['Name']}"
            check_environment(where, list(step["Arguments"].get("Environment", {})))
            command = step_command(step)
            if command is None or command[0][:1] != ["mlops"]:
                continue
            entrypoint, arguments, image = command
            parsed = parse(where, [*entrypoint[1:], *arguments])
            assert parsed.command == "sagemaker", where
            steps.append(parsed.step)
            runtime_images.add(image)
        assert steps == ["prepare", "train", "evaluate"]
        # A registered version's container runs the same image; SageMaker starts it as `<image> serve`.
        for step in steps_of(definition["Steps"]):
            if step["Type"] != "RegisterModel":
                continue
            for container in step["Arguments"]["InferenceSpecification"]["Containers"]:
                where = f"{stack}: pipeline {pipeline.name} step {step['Name']} container {container['Image']}"
                check_environment(where, list(container.get("Environment", {})))
                assert container["Image"] in runtime_images, where
                assert parse(where, ["serve"]).command == "serve"


# --- the local target -----------------------------------------------------------------------------


def local_platforms(tmp_path: Path) -> list[LocalPlatform]:
    """Every local environment of every example, with its state under ``tmp_path``."""
    found = []
    for spec_file in EXAMPLES:
        for name, spec in load_platform(spec_file).items():
            if isinstance(spec.target, LocalTarget):
                found.append(LocalPlatform(spec, StatePaths(tmp_path / f"{spec.platform.name}-{name}")))
    return found


def test_every_local_process_runs_a_command_line_the_cli_parses(tmp_path: Path) -> None:
    mlops = python_command()  # python -P -m mlops_dsl
    platforms = local_platforms(tmp_path)
    assert platforms
    for local in platforms:
        commands = []
        for service in local.services():
            where = f"{local.spec.platform.name} ({local.spec.environment}): {service.name}"
            check_environment(where, list(service.env))
            if service.command[: len(mlops)] == mlops:
                commands.append(parse(where, service.command[len(mlops) :]).command)
        assert commands == ["serve", "trigger", "monitor"]
        # The runs the local trigger starts (its local backend's command, with the run's values filled in).
        trainer = local_trainer_command(local.spec_file, local.spec.environment, local.paths.root)
        assert trainer[: len(mlops)] == mlops
        values = {"model": local.spec.platform.models[0].name, "reason": "manual", "run_id": "run-1", "result": str(tmp_path / "r.json")}
        parsed = parse(f"{local.spec.platform.name}: trainer", [part.format(**values) for part in trainer[len(mlops) :]])
        assert (parsed.command, parsed.model, parsed.run_id) == ("train", values["model"], "run-1")
