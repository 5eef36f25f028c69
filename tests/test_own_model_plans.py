"""The team's platform of tests/helpers/own_model.py, planned for Kubernetes and AWS: how its code reaches every process.

The same spec file the end-to-end test runs locally, loaded from its folder, run
under Pulumi's mocks: on Kubernetes each pod that runs the runtime mounts the
ConfigMap holding ``src/`` (every Deployment, the training Job templates, the
CronJobs); on AWS each pipeline step that runs the runtime gets the archive of
``src/``, for both models, one trained by a factory and one by a training function.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pulumi

from components.aws import AwsPlatform, AwsPlatformArgs
from components.kubernetes import KubernetesPlatform, KubernetesPlatformArgs
from mlops_dsl.contracts.code import ARCHIVE_NAME, CODE_DIR_ENV, KUBERNETES_CODE_DIR, code_files, code_hash
from mlops_dsl.contracts.names import KubernetesNames
from mlops_dsl.loading.loader import load_platform
from mlops_dsl.loading.stack import config_secret_names
from mlops_dsl.review.mocks import MockRun, kubernetes_manifests
from tests.conftest import STAND_IN_SECRETS
from tests.helpers.own_model import write_project
from tests.test_code_shipping import definitions, pod_specs, runtime_pods, runtime_steps

MOUNT = {"name": "code", "mountPath": KUBERNETES_CODE_DIR, "readOnly": True}


def files_of(src: Path) -> dict[str, bytes]:
    return {relative: path.read_bytes() for relative, path in code_files(src)}


def test_every_kubernetes_job_and_deployment_of_the_team_platform_sees_its_code(
    tmp_path: Path, mock_program: Callable[..., MockRun]
) -> None:
    spec = load_platform(write_project(tmp_path / "project"), environment="dev")["dev"]
    secrets = {name: STAND_IN_SECRETS[name] for name in config_secret_names(spec)}
    manifests = kubernetes_manifests(mock_program(lambda: KubernetesPlatform("fleet", KubernetesPlatformArgs(spec, secrets=secrets))))
    src = tmp_path / "project" / "src"
    names = KubernetesNames("fleet")
    [config_map] = [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == names.code(code_hash(src))]
    pods = runtime_pods(manifests, spec.platform.image, "fleet")
    for model in ("condition", "repair-cost"):
        assert f"Deployment {names.server(model)}" in pods
        assert f"Job {model}-train" in pods
    assert f"Deployment {names.monitor()}" in pods and f"Deployment {names.retraining()}" in pods
    for name, pod in pods.items():
        [container] = pod["containers"]
        assert MOUNT in container["volumeMounts"] and {"name": CODE_DIR_ENV, "value": KUBERNETES_CODE_DIR} in container["env"], name
        [volume] = [v for v in pod["volumes"] if v["name"] == "code"]
        assert volume["configMap"]["name"] == config_map["metadata"]["name"]
        text, binary = config_map.get("data", {}), config_map.get("binaryData", {})
        shipped = {
            item["path"]: text[item["key"]].encode() if item["key"] in text else base64.b64decode(binary[item["key"]])
            for item in volume["configMap"]["items"]
        }
        assert shipped == files_of(src), name
    # The training function's model and the factory's model both train in the built-in trainer.
    assert all(pod["containers"][0]["args"][:1] == ["train"] for name, pod in pods.items() if name.endswith("-train"))
    assert len(list(pod_specs(manifests, "fleet"))) > len(pods)  # the registry's and Redis' pods exist, without the code


def test_every_sagemaker_step_of_the_team_platform_gets_its_code(tmp_path: Path, mock_program: Callable[..., MockRun]) -> None:
    spec = load_platform(write_project(tmp_path / "project"), environment="prod")["prod"]
    secrets = {name: STAND_IN_SECRETS[name] for name in config_secret_names(spec)}
    run = mock_program(lambda: AwsPlatform("fleet", AwsPlatformArgs(spec, secrets=secrets)))
    src = tmp_path / "project" / "src"
    [archive] = [o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].endswith(f"/{ARCHIVE_NAME}")]
    assert archive.inputs["key"] == f"code/{code_hash(src).removeprefix('sha256:')[:16]}/{ARCHIVE_NAME}"
    source = archive.inputs["source"]
    assert isinstance(source, pulumi.AssetArchive)
    assert all(isinstance(asset, pulumi.FileAsset) for asset in source.assets.values())
    assert {
        name: Path(asset.path).read_bytes() for name, asset in source.assets.items() if isinstance(asset, pulumi.FileAsset)
    } == files_of(src)
    found = definitions(run)
    assert len(found) == 2
    for pipeline, definition in found.items():
        steps = runtime_steps(definition, spec.platform.image)
        assert set(steps) == {"Prepare", "Train", "Evaluate"}, pipeline
        for name, step in steps.items():
            arguments = step["Arguments"]
            if step["Type"] == "Processing":
                uris = {i["InputName"]: i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]}
            else:
                uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments["InputDataConfig"]}
            assert uris["code"].endswith(f"/{archive.inputs['key']}"), (pipeline, name)
            assert arguments["Environment"][CODE_DIR_ENV].endswith(f"/code/{ARCHIVE_NAME}"), (pipeline, name)
    train_steps = {p: next(s for s in d["Steps"] if s["Name"] == "Train") for p, d in found.items()}
    described = sorted(step["Description"] for step in train_steps.values())
    assert described == ["Fit fleet_ml.models.condition_pipeline", "Fit fleet_ml.training.fit_cost"]
