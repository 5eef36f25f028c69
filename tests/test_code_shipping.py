"""The team's code (``Platform.code``) reaches every process of the runtime in both Pulumi targets, visibly in the plan.

On Kubernetes one immutable ConfigMap, named after the code's hash, holds every
file; each container that runs the runtime mounts it read-only at
``/opt/mlops/code`` and is told so by ``MLOPS_CODE_DIR``. On AWS one zip archive
in the artifacts bucket, keyed by the hash, is an input of every pipeline step
that runs the runtime, with ``MLOPS_CODE_DIR`` naming the archive in the step's
container. A platform without code renders as it always did.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
import yaml

from components.aws import AwsPlatform, AwsPlatformArgs
from components.aws.pipeline_definition import build
from components.kubernetes import KubernetesPlatform, KubernetesPlatformArgs
from mlops_dsl.contracts.code import ARCHIVE_NAME, CODE_DIR_ENV, KUBERNETES_CODE_DIR, code_hash
from mlops_dsl.contracts.names import CONFIG_MAP_KEY_LIMIT, KubernetesNames, config_map_key
from mlops_dsl.loading.loader import ResolvedSpec, resolve_data
from mlops_dsl.loading.overlay import apply_overrides
from mlops_dsl.loading.stack import config_secret_names
from mlops_dsl.review.mocks import MockRun, kubernetes_manifests, reveal
from tests import base_spec
from tests.conftest import STAND_IN_SECRETS
from tests.helpers import sagemaker_reference
from tests.helpers.aws_api import pipeline_definition_errors
from tests.helpers.kubernetes import KUBERNETES_VERSIONS, builtin_errors
from tests.helpers.pipelines import inputs_for

CODE = {
    "teamcode/__init__.py": b"",
    "teamcode/features.py": "def ratio(a, b):\n    return a / b if b else 0.0  # r\u00e9sum\u00e9\n".encode(),
    "teamcode/training.py": b"def fit(context):\n    return context\n",
    # '/' is not a ConfigMap key character: this file's key must not meet teamcode/features.py's.
    "teamcode_features.py": b"VALUE = 1\n",
    "helpers.py": b"def double(x):\n    return 2 * x\n",
    "assets/weights.bin": bytes(range(256)) * 3,  # not UTF-8: binaryData
    "assets/notes v2 (draft).txt": b"a name with characters a key cannot hold\r\n",
}
"""The code folder's files, by path: a package, two top-level modules, a binary file and an awkward name."""
SKIPPED = {"teamcode/__pycache__/features.cpython-311.pyc": b"\x00bytecode", ".secrets/token.py": b"TOKEN = 'x'\n"}
"""Files in the folder that are not part of the code (bytecode, hidden folders)."""

CHANGES = {
    # The Kubernetes workloads a platform can have: a canary, batch scoring and scheduled training too.
    "models.churn.training.schedule": "0 3 * * 1",
    "models.churn.serving.batch": {"schedule": "0 2 * * *", "input": "batch/customers", "output": "batch/scores"},
}
KEY = re.compile(r"[-._a-zA-Z0-9]+")
MOUNT = {"name": "code", "mountPath": KUBERNETES_CODE_DIR, "readOnly": True}
ENV = {"name": CODE_DIR_ENV, "value": KUBERNETES_CODE_DIR}


def write_code(folder: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def resolved(project: Path, *, code: bool = True, changes: dict[str, Any] | None = None) -> dict[str, ResolvedSpec]:
    """The test platform (tests/base_spec.py) as if loaded from ``project/platform.py``, with ``code="src"`` or without."""
    data = base_spec.base_data()
    overlay = apply_overrides(data, {**CHANGES, **(changes or {})}, origin="test", source="test")
    assert not overlay.problems, overlay.problems
    data = overlay.data
    if code:
        data["code"] = "src"
    spec_file = project / "platform.py"
    spec_file.write_text('"""Stands in for the spec file: Platform.code is relative to it (the platform is resolved from data)."""\n')
    return resolve_data(data, source="platform.py", origin=spec_file)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project folder with the team's code in ``src/``.

    Validation imports the team's modules (a training function is checked by importing it); they are
    forgotten afterwards, or the next test's copy of ``teamcode`` would look like an installed module.
    """
    write_code(tmp_path / "src", {**CODE, **SKIPPED})
    yield tmp_path
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").is_relative_to(tmp_path):
            del sys.modules[name]


def kubernetes_run(run_program: Callable[..., MockRun], spec: ResolvedSpec) -> list[dict[str, Any]]:
    secrets = {name: STAND_IN_SECRETS[name] for name in config_secret_names(spec)}
    run = run_program(lambda: KubernetesPlatform("shop", KubernetesPlatformArgs(spec, secrets=secrets)))
    return kubernetes_manifests(run)


def job_templates(manifests: list[dict[str, Any]], platform: str = "shop") -> list[dict[str, Any]]:
    [jobs] = [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == KubernetesNames(platform).jobs()]
    return [yaml.safe_load(text) for text in jobs["data"].values()]


def pod_specs(manifests: list[dict[str, Any]], platform: str = "shop") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod template: Deployments, StatefulSets, CronJobs and the training Job templates, by kind and name."""
    for manifest in [*manifests, *job_templates(manifests, platform)]:
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet", "Job"):
            yield f"{kind} {name}", manifest["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind} {name}", manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def runtime_pods(manifests: list[dict[str, Any]], image: str, platform: str = "shop") -> dict[str, dict[str, Any]]:
    """The pod templates whose container runs the runtime: its image with its own entrypoint (the registry runs ``mlflow server``)."""
    found = {}
    for name, pods in pod_specs(manifests, platform):
        [container] = pods["containers"]
        if container["image"] == image and "command" not in container:
            found[name] = pods
    return found


def code_config_maps(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"].startswith("shop-code-")]


def test_every_runtime_pod_mounts_the_code_config_map_holding_every_file(project: Path, mock_program: Callable[..., MockRun]) -> None:
    spec = resolved(project)["dev"]
    manifests = kubernetes_run(mock_program, spec)
    [config_map] = code_config_maps(manifests)
    names = KubernetesNames("shop")
    assert config_map["metadata"]["name"] == names.code(code_hash(project / "src"))
    assert config_map["metadata"]["annotations"] == {"mlops.dev/code-hash": code_hash(project / "src")}
    assert config_map["immutable"] is True
    text, binary = config_map.get("data", {}), config_map.get("binaryData", {})
    assert set(text).isdisjoint(binary) and len(text) + len(binary) == len(CODE)
    assert [key for key in [*text, *binary] if key_errors(key)] == []
    assert set(binary) == {config_map_key("assets/weights.bin")}

    pods = runtime_pods(manifests, spec.platform.image)
    assert set(pods) == {
        f"Deployment {names.server('churn')}",
        f"Deployment {names.canary('churn')}",
        f"Deployment {names.server('spend')}",
        f"Deployment {names.features()}",
        f"Deployment {names.monitor()}",
        f"Deployment {names.retraining()}",
        f"CronJob {names.batch('churn')}",
        f"CronJob {names.training_schedule('churn')}",
        f"CronJob {names.materialize()}",
        "Job churn-train",
        "Job spend-train",
    }
    for name, pod in pods.items():
        [container] = pod["containers"]
        assert MOUNT in container["volumeMounts"], name
        assert ENV in container["env"], name
        [volume] = [v for v in pod["volumes"] if v["name"] == "code"]
        assert volume["configMap"]["name"] == config_map["metadata"]["name"], name
        # Each key back at its exact path, with exactly the file's bytes.
        shipped = {
            item["path"]: text[item["key"]].encode() if item["key"] in text else base64.b64decode(binary[item["key"]])
            for item in volume["configMap"]["items"]
        }
        assert shipped == CODE, name
    for name, pod in pod_specs(manifests):
        if name not in pods:  # the registry, its database, Redis: none of them runs the team's code
            assert all(v["name"] != "code" for v in pod.get("volumes", [])), name
            assert all(ENV not in c.get("env", []) for c in pod["containers"]), name


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_manifests_with_code_are_valid_for_current_kubernetes(
    version: str, project: Path, mock_program: Callable[..., MockRun]
) -> None:
    manifests = kubernetes_run(mock_program, resolved(project)["dev"])
    assert code_config_maps(manifests)
    assert builtin_errors([*manifests, *job_templates(manifests)], version) == []


def key_errors(key: str) -> list[str]:
    """Why the API server would refuse ``key`` in a ConfigMap (its IsConfigMapKey; the OpenAPI schema does not check keys)."""
    errors = []
    if len(key) > CONFIG_MAP_KEY_LIMIT:
        errors.append(f"longer than {CONFIG_MAP_KEY_LIMIT}")
    if not KEY.fullmatch(key):
        errors.append("characters other than [-._a-zA-Z0-9]")
    if key in (".", "..") or key.startswith(".."):
        errors.append("'.', '..' or starting with '..'")
    return errors


def test_each_file_gets_a_key_the_api_server_takes_and_no_two_files_one_key() -> None:
    paths = [*CODE, "a/b.py", "a_b.py", "a.b.py", "x/" * 150 + "deep.py", "x/" * 150 + "other.py", "\u00e9t\u00e9/caf\u00e9.py"]
    keys = [config_map_key(path) for path in paths]
    assert len(set(keys)) == len(paths)
    assert [key for key in keys if key_errors(key)] == []
    assert config_map_key("teamcode/features.py").startswith("teamcode_features.py-")  # still readable in kubectl
    # The check can fail: paths as keys are what a naive ConfigMap would hold.
    assert key_errors("teamcode/features.py") and key_errors("x" * 254) and key_errors("..data")


def test_changed_code_is_a_new_config_map_and_new_pod_templates(project: Path, mock_program: Callable[..., MockRun]) -> None:
    spec = resolved(project)["dev"]
    before = kubernetes_run(mock_program, spec)
    (project / "src/helpers.py").write_bytes(b"def double(x):\n    return x + x\n")
    after = kubernetes_run(mock_program, resolved(project)["dev"])
    [old], [new] = code_config_maps(before), code_config_maps(after)
    assert old["metadata"]["name"] != new["metadata"]["name"]
    assert new["data"][config_map_key("helpers.py")] == "def double(x):\n    return x + x\n"
    old_pods, new_pods = runtime_pods(before, spec.platform.image), runtime_pods(after, spec.platform.image)
    assert set(old_pods) == set(new_pods)
    for name in old_pods:
        assert old_pods[name] != new_pods[name], f"{name} would keep running the old code"


def test_a_training_function_runs_in_the_built_in_trainer(project: Path, mock_program: Callable[..., MockRun]) -> None:
    spec = resolved(project, changes={"models.churn.training.entrypoint": "teamcode.training.fit"})["dev"]
    manifests = kubernetes_run(mock_program, spec)
    pods = runtime_pods(manifests, spec.platform.image)
    for name in ("Job churn-train", f"CronJob {KubernetesNames('shop').training_schedule('churn')}"):
        [container] = pods[name]["containers"]
        assert container["args"] == ["train", "--model", "churn"] and "command" not in container, name


# --- AWS ------------------------------------------------------------------------------------------------


def aws_run(run_program: Callable[..., MockRun], spec: ResolvedSpec) -> MockRun:
    secrets = {name: STAND_IN_SECRETS[name] for name in config_secret_names(spec)}
    return run_program(lambda: AwsPlatform("shop", AwsPlatformArgs(spec, secrets=secrets)))


def definitions(run: MockRun) -> dict[str, dict[str, Any]]:
    return {
        reveal(p.inputs)["pipelineName"]: json.loads(reveal(p.inputs)["pipelineDefinition"])
        for p in run.of_type("aws:sagemaker/pipeline:Pipeline")
    }


def runtime_steps(definition: dict[str, Any], image: str) -> dict[str, dict[str, Any]]:
    """The steps that run the platform's image: processing and training jobs (not Model Monitor's analyzer)."""
    found = {}
    for step in definition["Steps"]:
        arguments = step["Arguments"]
        if (
            arguments.get("AppSpecification", {}).get("ImageUri") == image
            or arguments.get("AlgorithmSpecification", {}).get("TrainingImage") == image
        ):
            found[step["Name"]] = step
    return found


def test_the_code_archive_holds_every_file_under_its_hash(project: Path, mock_program: Callable[..., MockRun]) -> None:
    run = aws_run(mock_program, resolved(project)["prod"])
    objects = run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    [archive] = [o for o in objects if o.inputs["key"].endswith(f"/{ARCHIVE_NAME}")]
    [spec_object] = [o for o in objects if o.inputs["key"] == "spec/prod/platform.json"]
    digest = code_hash(project / "src").removeprefix("sha256:")
    assert archive.inputs["key"] == f"code/{digest[:16]}/{ARCHIVE_NAME}"
    assert archive.parent == spec_object.parent and archive.inputs["bucket"] == spec_object.inputs["bucket"]  # the artifacts bucket
    assert archive.inputs["serverSideEncryption"] == "aws:kms" and archive.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    source = archive.inputs["source"]
    assert isinstance(source, pulumi.AssetArchive)
    assert all(isinstance(asset, pulumi.FileAsset) for asset in source.assets.values())
    assert {name: Path(asset.path).read_bytes() for name, asset in source.assets.items() if isinstance(asset, pulumi.FileAsset)} == CODE


def test_every_runtime_step_of_every_model_gets_the_archive(project: Path, mock_program: Callable[..., MockRun]) -> None:
    spec = resolved(project)["prod"]
    run = aws_run(mock_program, spec)
    [archive] = [o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].endswith(f"/{ARCHIVE_NAME}")]
    found = definitions(run)
    assert len(found) == len(spec.platform.models) == 2
    for pipeline, definition in found.items():
        steps = runtime_steps(definition, spec.platform.image)
        assert set(steps) == {"Prepare", "Train", "Evaluate"}, pipeline
        for name, step in steps.items():
            arguments = step["Arguments"]
            if step["Type"] == "Processing":
                sources = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
                bucket = sources["spec"]["S3Uri"].removeprefix("s3://").partition("/")[0]
                code = sources["code"]
                assert code["S3Uri"] == f"s3://{bucket}/{archive.inputs['key']}", (pipeline, name)
                assert (code["S3DataType"], code["S3InputMode"]) == ("S3Prefix", "File")
                folder = code["LocalPath"]
                assert folder == "/opt/ml/processing/input/code"
            else:
                channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in arguments["InputDataConfig"]}
                bucket = channels["spec"]["S3Uri"].removeprefix("s3://").partition("/")[0]
                assert channels["code"]["S3Uri"] == f"s3://{bucket}/{archive.inputs['key']}", (pipeline, name)
                assert channels["code"]["S3DataType"] == "S3Prefix"
                folder = "/opt/ml/input/data/code"  # a training job's channel 'code'
            assert arguments["Environment"][CODE_DIR_ENV] == f"{folder}/{ARCHIVE_NAME}", (pipeline, name)
        for step in definition["Steps"]:
            if step["Name"] not in steps:
                assert CODE_DIR_ENV not in json.dumps(step), (pipeline, step["Name"])


def test_each_pipeline_role_reads_the_archive_and_no_wildcard_action(project: Path, mock_program: Callable[..., MockRun]) -> None:
    run = aws_run(mock_program, resolved(project)["prod"])
    [archive] = [o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].endswith(f"/{ARCHIVE_NAME}")]
    documents = {r.name: json.loads(reveal(r.inputs)["policy"]) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    readers = {
        name
        for name, document in documents.items()
        for statement in document["Statement"]
        if "s3:GetObject" in statement["Action"] and any(str(r).endswith(f"/{archive.inputs['key']}") for r in statement["Resource"])
    }
    assert readers == {"shop-churn-training-role-policy", "shop-spend-training-role-policy"}
    for name, document in documents.items():
        for statement in document["Statement"]:
            assert not any("*" in action for action in statement["Action"]), (name, statement["Action"])


def sagemaker_model() -> Any:
    """A client used only for botocore's SageMaker API model; it makes no calls."""
    return boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t")


def test_definitions_with_code_are_the_ones_the_sagemaker_sdk_builds_and_valid_requests(project: Path) -> None:
    spec = resolved(project)["prod"]
    for model in spec.platform.models:
        given = dataclasses.replace(inputs_for(spec, model.name), code_uri="s3://artifacts-bucket/code/0123456789abcdef/code.zip")
        ours = build(spec, model.name, given)
        assert ours == sagemaker_reference.build(spec, model.name, given), model.name
        assert ours != build(spec, model.name, inputs_for(spec, model.name))
        assert pipeline_definition_errors(sagemaker_model(), ours) == []


# --- without code ---------------------------------------------------------------------------------------


def test_a_platform_without_code_ships_none(project: Path, mock_program: Callable[..., MockRun]) -> None:
    platforms = resolved(project, code=False)
    manifests = kubernetes_run(mock_program, platforms["dev"])
    assert code_config_maps(manifests) == []
    for name, pod in pod_specs(manifests):
        assert all(v["name"] != "code" for v in pod.get("volumes", [])), name
    assert CODE_DIR_ENV not in json.dumps([*manifests, *job_templates(manifests)])

    run = aws_run(mock_program, platforms["prod"])
    assert not [o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].endswith(ARCHIVE_NAME)]
    for pipeline, definition in definitions(run).items():
        for step in runtime_steps(definition, platforms["prod"].platform.image).values():
            arguments = step["Arguments"]
            names = [i["InputName"] for i in arguments.get("ProcessingInputs", [])]
            names += [c["ChannelName"] for c in arguments.get("InputDataConfig", [])]
            assert "code" not in names and CODE_DIR_ENV not in arguments["Environment"], (pipeline, step["Name"])
    assert CODE_DIR_ENV not in json.dumps([r.inputs for r in run.resources], default=str)
