"""A model's SageMaker Pipeline definition (JSON), written from the spec with no AWS calls.

Steps: Prepare (processing: point-in-time extraction from the feature groups'
offline store, data validation, split) -> Train (training) -> Evaluate
(processing: metrics, comparison with production, Model Monitor's baseline
data set) -> DataQualityBaseline (Model Monitor's statistics and
constraints) -> Gate (condition: the spec's metric against its threshold, and
"beats production" where asked) -> Register (into the model package group;
approved at once when approval is automatic) or GateFailed (the run is
recorded as failed and nothing is registered).

Pipeline parameters: ``TriggerReason`` (recorded on the model package) and
``RunId``.

The document follows SageMaker's pipeline definition schema (version
2020-12-01): each step's ``Arguments`` are the request of the API the step
calls (CreateProcessingJob, CreateTrainingJob, CreateModelPackage), and
values known only while a run executes are ``Get``, ``Std:Join`` and
``Std:JsonGet`` expressions. It is written here rather than with the sagemaker
SDK because importing the SDK alone took over a second of every AWS plan;
tests/test_pipeline_definition.py holds every definition to the one the SDK
builds from the same spec and inputs (tests/helpers/sagemaker_reference.py),
byte for byte, so an SDK upgrade that changes a definition shows there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_dsl.contracts.aws import RUN_ID_PARAMETER, TRIGGER_REASON_PARAMETER
from mlops_dsl.contracts.code import ARCHIVE_NAME, CODE_DIR_ENV
from mlops_dsl.contracts.environment import ENVIRONMENT_ENV, MODEL_DIR_ENV, MODEL_ENV, SPEC_ENV
from mlops_dsl.loading.aws_images import model_monitor_image
from mlops_dsl.spec.training import LOWER_IS_BETTER

VERSION = "2020-12-01"
VOLUME_GB = 30  # the SDK's default volume for processing and training jobs
GATE_METRIC_PATH = "metrics.{metric}.value"
PROCESSING = "/opt/ml/processing"
TRAINING_INPUT = "/opt/ml/input/data"
"""Where a training job finds each input channel, in a folder named after it."""


@dataclass(frozen=True)
class PipelineInputs:
    """The values a definition needs that only exist once infrastructure does."""

    role_arn: str
    image: str
    data_bucket: str
    artifacts_bucket: str
    account_id: str
    kms_key_arn: str
    spec_uri: str
    pipeline: str
    group: str
    feature_groups: dict[str, str]
    code_uri: str | None = None
    """The team's code archive (``Platform.code``) in the artifacts bucket, which every step of the runtime gets; None without code."""


# Expressions a run evaluates: https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-propertyfile.html


def fitted_by(model: Any) -> str:
    """What fits the model: the spec's estimator, or the team's training function."""
    training = model.training
    return str(training.entrypoint if training.custom else training.estimator)


def get(path: str) -> dict[str, str]:
    """A run-time value: an execution variable, a parameter or a step's property."""
    return {"Get": path}


def join(on: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def json_get(step: str, property_file: str, path: str) -> dict[str, Any]:
    """A value read from a step's property file (a JSON file the step wrote)."""
    return {"Std:JsonGet": {"PropertyFile": get(f"Steps.{step}.PropertyFiles.{property_file}"), "Path": path}}


def output_uri(step: str, output: str) -> dict[str, str]:
    return get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


MODEL_ARTIFACTS = get("Steps.Train.ModelArtifacts.S3ModelArtifacts")


def build(spec: Any, model_name: str, inputs: PipelineInputs) -> str:
    """The pipeline definition (JSON) for one model."""
    return json.dumps(definition(spec, model_name, inputs))


def definition(spec: Any, model_name: str, inputs: PipelineInputs) -> dict[str, Any]:
    model = spec.platform.model(model_name)
    return {
        "Version": VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": TRIGGER_REASON_PARAMETER, "Type": "String", "DefaultValue": "schedule"},
            {"Name": RUN_ID_PARAMETER, "Type": "String", "DefaultValue": "scheduled"},
        ],
        "PipelineExperimentConfig": {"ExperimentName": get("Execution.PipelineName"), "TrialName": get("Execution.PipelineExecutionId")},
        "Steps": _Steps(spec, model, inputs).all(),
    }


class _Steps:
    """The steps of one model's pipeline, and what they share: role, image, KMS key, network, run prefix."""

    def __init__(self, spec: Any, model: Any, inputs: PipelineInputs) -> None:
        self.spec = spec
        self.model = model
        self.inputs = inputs
        self.region = spec.target.region
        self.vpc = spec.target.vpc
        self.run = join("/", f"s3://{inputs.artifacts_bucket}/pipelines/{model.name}", get("Execution.PipelineExecutionId"))
        self.environment = {
            MODEL_ENV: model.name,
            SPEC_ENV: f"{PROCESSING}/input/spec/platform.json",
            ENVIRONMENT_ENV: spec.environment,
        }
        self.processing_type = model.training.resources.instance_type
        self.spec_input = self.processing_input("spec", inputs.spec_uri, f"{PROCESSING}/input/spec")
        # The team's code reaches each step of the runtime as an input, the archive itself, which the
        # runtime imports from where MLOPS_CODE_DIR says (Model Monitor's analyzer does not need it).
        self.code_inputs: list[dict[str, Any]] = []
        if inputs.code_uri is not None:
            self.code_inputs = [self.processing_input("code", inputs.code_uri, f"{PROCESSING}/input/code")]
            self.environment[CODE_DIR_ENV] = f"{PROCESSING}/input/code/{ARCHIVE_NAME}"
        self.evaluation_uri = join("/", output_uri("Evaluate", "evaluation"), "evaluation.json")

    def all(self) -> list[dict[str, Any]]:
        return [self.prepare(), self.train(), self.evaluate(), self.data_quality_baseline(), self.gate()]

    # Processing jobs (CreateProcessingJob)

    def processing_input(self, name: str, source: Any, destination: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "AppManaged": False,
            "S3Input": {
                "S3Uri": source,
                "LocalPath": destination,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }

    def processing_output(self, name: str, source: str, destination: Any) -> dict[str, Any]:
        return {
            "OutputName": name,
            "AppManaged": False,
            "S3Output": {"S3Uri": destination, "LocalPath": source, "S3UploadMode": "EndOfJob"},
        }

    def run_outputs(self, *names: str) -> list[dict[str, Any]]:
        """Outputs under this run's prefix, one per name."""
        return [self.processing_output(name, f"{PROCESSING}/{name}", join("/", self.run, name)) for name in names]

    def processing_job(
        self, app: dict[str, Any], inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], environment: dict[str, str]
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": self.processing_type,
                    "InstanceCount": 1,
                    "VolumeSizeInGB": VOLUME_GB,
                    "VolumeKmsKeyId": self.inputs.kms_key_arn,
                }
            },
            "AppSpecification": app,
            "RoleArn": self.inputs.role_arn,
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {"Outputs": outputs, "KmsKeyId": self.inputs.kms_key_arn},
            "Environment": environment,
        }
        if self.vpc is not None:
            arguments["NetworkConfig"] = {
                "EnableNetworkIsolation": False,
                "EnableInterContainerTrafficEncryption": True,
                "VpcConfig": {"SecurityGroupIds": self.vpc.security_group_ids, "Subnets": self.vpc.subnet_ids},
            }
        return arguments

    def our_processing_step(
        self, name: str, description: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], property_file: tuple[str, str]
    ) -> dict[str, Any]:
        """A processing step that runs ``mlops sagemaker <step>`` in the platform's image and writes one property file."""
        app = {"ImageUri": self.inputs.image, "ContainerEntrypoint": ["mlops", "sagemaker", name.lower()]}
        file_name, output = property_file
        return {
            "Name": name,
            "Type": "Processing",
            "Arguments": self.processing_job(app, [self.spec_input, *self.code_inputs, *inputs], outputs, self.environment),
            "Description": description,
            "PropertyFiles": [{"PropertyFileName": file_name, "OutputName": output, "FilePath": f"{output}.json"}],
        }

    def prepare(self) -> dict[str, Any]:
        platform, model, inputs = self.spec.platform, self.model, self.inputs
        label_source = next(s for s in platform.feature_store.sources if s.name == model.label.source)
        labels_uri = label_source.path if "://" in label_source.path else f"s3://{inputs.data_bucket}/{label_source.path.strip('/')}"
        views = list(dict.fromkeys(ref.partition(":")[0] for ref in model.features))
        offline = f"s3://{inputs.data_bucket}/feature-store/{inputs.account_id}/sagemaker/{self.region}/offline-store"
        return self.our_processing_step(
            "Prepare",
            "Point-in-time feature extraction from the feature store, data validation, split",
            [
                self.processing_input("labels", labels_uri, f"{PROCESSING}/input/labels"),
                *[
                    self.processing_input(
                        f"features-{view}", f"{offline}/{inputs.feature_groups[view]}", f"{PROCESSING}/input/features/{view}"
                    )
                    for view in views
                ],
            ],
            self.run_outputs("train", "test", "lineage"),
            ("Lineage", "lineage"),
        )

    def evaluate(self) -> dict[str, Any]:
        return self.our_processing_step(
            "Evaluate",
            "Test metrics, the comparison with production, Model Monitor's baseline data set",
            [
                self.processing_input("model", MODEL_ARTIFACTS, f"{PROCESSING}/input/model"),
                self.processing_input("test", output_uri("Prepare", "test"), f"{PROCESSING}/input/test"),
                self.processing_input("lineage", output_uri("Prepare", "lineage"), f"{PROCESSING}/input/lineage"),
                self.processing_input(
                    "production",
                    f"s3://{self.inputs.artifacts_bucket}/models/{self.model.name}/production",
                    f"{PROCESSING}/input/production",
                ),
            ],
            self.run_outputs("evaluation", "baseline"),
            ("Evaluation", "evaluation"),
        )

    def data_quality_baseline(self) -> dict[str, Any]:
        """Model Monitor's analyzer suggests the baseline statistics and constraints (the SDK's QualityCheckStep)."""
        dataset = f"{PROCESSING}/input/baseline_dataset_input"
        output = f"{PROCESSING}/output"
        environment = {
            "output_path": output,
            "publish_cloudwatch_metrics": "Disabled",
            "dataset_format": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}),
            "dataset_source": dataset,
        }
        return {
            "Name": "DataQualityBaseline",
            "Type": "QualityCheck",
            "Arguments": self.processing_job(
                {"ImageUri": model_monitor_image(self.region)},
                [self.processing_input("baseline_dataset_input", output_uri("Evaluate", "baseline"), dataset)],
                [self.processing_output("quality_check_output", output, join("/", self.run, "data-quality"))],
                environment,
            ),
            "Description": "Model Monitor's baseline statistics and constraints of the model's inputs and output",
            "CheckType": "DATA_QUALITY",
            "ModelPackageGroupName": self.inputs.group,
            "SkipCheck": True,
            "FailOnViolation": True,
            "RegisterNewBaseline": True,
            "SuppliedBaselineStatistics": None,
            "SuppliedBaselineConstraints": None,
        }

    # The training job (CreateTrainingJob)

    def train(self) -> dict[str, Any]:
        model, inputs = self.model, self.inputs
        output_path = join("/", self.run, "model")

        def channel(name: str, uri: Any, content_type: str) -> dict[str, Any]:
            source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
            return {"DataSource": {"S3DataSource": source}, "ContentType": content_type, "ChannelName": name}

        arguments: dict[str, Any] = {
            "AlgorithmSpecification": {
                "TrainingInputMode": "File",
                "TrainingImage": inputs.image,
                "ContainerEntrypoint": ["mlops", "sagemaker", "train"],
            },
            "OutputDataConfig": {"S3OutputPath": output_path, "KmsKeyId": inputs.kms_key_arn},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(model.training.timeout.total_seconds())},
            "ResourceConfig": {
                "VolumeSizeInGB": VOLUME_GB,
                "VolumeKmsKeyId": inputs.kms_key_arn,
                "InstanceCount": 1,
                "InstanceType": model.training.resources.instance_type,
            },
            "RoleArn": inputs.role_arn,
            "InputDataConfig": [
                channel("train", output_uri("Prepare", "train"), "application/x-parquet"),
                channel("spec", inputs.spec_uri, "application/json"),
            ],
        }
        environment = {**self.environment, SPEC_ENV: f"{TRAINING_INPUT}/spec/platform.json"}
        if inputs.code_uri is not None:
            arguments["InputDataConfig"].append(channel("code", inputs.code_uri, "application/zip"))
            environment[CODE_DIR_ENV] = f"{TRAINING_INPUT}/code/{ARCHIVE_NAME}"
        arguments["Environment"] = environment
        if self.vpc is not None:
            arguments["VpcConfig"] = {"Subnets": self.vpc.subnet_ids, "SecurityGroupIds": self.vpc.security_group_ids}
            arguments["EnableInterContainerTrafficEncryption"] = True
        arguments["DebugHookConfig"] = {"S3OutputPath": output_path, "CollectionConfigurations": []}
        arguments["ProfilerConfig"] = {"DisableProfiler": True}
        return {"Name": "Train", "Type": "Training", "Arguments": arguments, "Description": f"Fit {fitted_by(model)}"}

    # The gate, and the model package it registers (CreateModelPackage)

    def gate(self) -> dict[str, Any]:
        gate = self.model.training.gate

        def condition(kind: str, path: str, right: Any) -> dict[str, Any]:
            return {"Type": kind, "LeftValue": json_get("Evaluate", "Evaluation", path), "RightValue": right}

        if gate is not None:
            compare = "LessThanOrEqualTo" if gate.metric in LOWER_IS_BETTER else "GreaterThanOrEqualTo"
            conditions = [
                condition(compare, GATE_METRIC_PATH.format(metric=gate.metric), gate.threshold),
                condition("Equals", "gate.beats_production", True),
            ]
        else:  # no gate: every candidate is registered
            conditions = [condition("Equals", "gate.passed", True)]
        failed = {
            "Name": "GateFailed",
            "Type": "Fail",
            "Arguments": {"ErrorMessage": join(" ", "The candidate failed the evaluation gate; see", self.evaluation_uri)},
        }
        return {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {"Conditions": conditions, "IfSteps": [self.register()], "ElseSteps": [failed]},
            "DependsOn": ["DataQualityBaseline"],
        }

    def register(self) -> dict[str, Any]:
        model, inputs = self.model, self.inputs
        serving = model.serving.resources
        batch = model.serving.batch.resources.instance_type if model.serving.batch else serving.instance_type

        def metrics_source(uri: Any) -> dict[str, Any]:
            return {"ContentType": "application/json", "S3Uri": uri}

        return {
            "Name": "Register-RegisterModel",
            "Type": "RegisterModel",
            "Arguments": {
                "ModelPackageGroupName": inputs.group,
                "ModelPackageDescription": f"{model.name}: {model.description or model.task}",
                "ModelMetrics": {"ModelQuality": {"Statistics": metrics_source(self.evaluation_uri)}, "Bias": {}, "Explainability": {}},
                "DriftCheckBaselines": {
                    "ModelDataQuality": {
                        "Statistics": metrics_source(get("Steps.DataQualityBaseline.CalculatedBaselineStatistics")),
                        "Constraints": metrics_source(get("Steps.DataQualityBaseline.CalculatedBaselineConstraints")),
                    }
                },
                "CustomerMetadataProperties": {
                    "trigger_reason": get(f"Parameters.{TRIGGER_REASON_PARAMETER}"),
                    "run_id": get(f"Parameters.{RUN_ID_PARAMETER}"),
                    "code_version": inputs.image,
                    "data_snapshot": json_get("Prepare", "Lineage", "data_snapshot"),
                    "estimator": fitted_by(model),
                    "parameters": json.dumps(model.training.hyperparameters, sort_keys=True),
                },
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": inputs.image,
                            "Environment": {MODEL_DIR_ENV: "/opt/ml/model", SPEC_ENV: "/opt/ml/model/platform.json"},
                            "ModelDataUrl": MODEL_ARTIFACTS,
                        }
                    ],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                    "SupportedRealtimeInferenceInstanceTypes": [serving.instance_type],
                    "SupportedTransformInstanceTypes": [batch],
                },
                "ModelApprovalStatus": "Approved" if model.registry.approval == "automatic" else "PendingManualApproval",
                "SkipModelValidation": "None",
            },
        }
