"""The reference for components/aws/pipeline_definition.py: the same pipeline built with the sagemaker SDK.

The project writes a model's SageMaker Pipeline definition itself (importing
the SDK alone took over a second of every AWS plan); the tests hold every
definition it writes to the one the SDK builds from the same spec and inputs,
byte for byte. This is that SDK build, kept as it was when the project used
it directly: Prepare -> Train -> Evaluate -> DataQualityBaseline -> Gate ->
Register or GateFailed.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from components.aws.pipeline_definition import GATE_METRIC_PATH, PipelineInputs
from tests.helpers.sagemaker_sdk import fresh_pipeline_session, prepared


def build(spec: Any, model_name: str, inputs: PipelineInputs) -> str:
    """The pipeline definition (JSON) for one model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _build(spec, model_name, inputs)


def _build(spec: Any, model_name: str, inputs: PipelineInputs) -> str:
    prepared()
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    from mlops_dsl.spec.training import LOWER_IS_BETTER

    region = spec.target.region
    session = fresh_pipeline_session(region, inputs.artifacts_bucket)
    model = spec.platform.model(model_name)
    platform = spec.platform
    base = f"s3://{inputs.artifacts_bucket}/pipelines/{model.name}"
    run = Join(on="/", values=[base, ExecutionVariables.PIPELINE_EXECUTION_ID])
    reason = ParameterString("TriggerReason", default_value="schedule")
    run_id = ParameterString("RunId", default_value="scheduled")
    environment = {"MLOPS_MODEL": model.name, "MLOPS_SPEC": "/opt/ml/processing/input/spec/platform.json", "MLOPS_ENV": spec.environment}
    if inputs.code_uri is not None:  # the team's code: an input of every step that runs the runtime
        environment["MLOPS_CODE_DIR"] = "/opt/ml/processing/input/code/code.zip"
    training_environment = {**environment, "MLOPS_SPEC": "/opt/ml/input/data/spec/platform.json"}
    if inputs.code_uri is not None:
        training_environment["MLOPS_CODE_DIR"] = "/opt/ml/input/data/code/code.zip"
    processing_type = model.training.resources.instance_type
    vpc = spec.target.vpc
    network = None
    if vpc is not None:
        from sagemaker.network import NetworkConfig

        network = NetworkConfig(subnets=vpc.subnet_ids, security_group_ids=vpc.security_group_ids, encrypt_inter_container_traffic=True)

    def processor(step: str) -> Processor:
        return Processor(
            role=inputs.role_arn,
            image_uri=inputs.image,
            instance_count=1,
            instance_type=processing_type,
            entrypoint=["mlops", "sagemaker", step],
            env=environment,
            volume_kms_key=inputs.kms_key_arn,
            output_kms_key=inputs.kms_key_arn,
            network_config=network,
            sagemaker_session=session,
        )

    spec_input = ProcessingInput(source=inputs.spec_uri, destination="/opt/ml/processing/input/spec", input_name="spec")
    code_inputs = (
        [ProcessingInput(source=inputs.code_uri, destination="/opt/ml/processing/input/code", input_name="code")]
        if inputs.code_uri is not None
        else []
    )
    label_source = next(s for s in platform.feature_store.sources if s.name == model.label.source)
    labels_uri = label_source.path if "://" in label_source.path else f"s3://{inputs.data_bucket}/{label_source.path.strip('/')}"
    views = list(dict.fromkeys(ref.partition(":")[0] for ref in model.features))
    lineage = PropertyFile(name="Lineage", output_name="lineage", path="lineage.json")
    offline = f"s3://{inputs.data_bucket}/feature-store/{inputs.account_id}/sagemaker/{region}/offline-store"
    prepare = ProcessingStep(
        "Prepare",
        description="Point-in-time feature extraction from the feature store, data validation, split",
        step_args=processor("prepare").run(
            inputs=[
                spec_input,
                *code_inputs,
                ProcessingInput(source=labels_uri, destination="/opt/ml/processing/input/labels", input_name="labels"),
                *[
                    ProcessingInput(
                        source=f"{offline}/{inputs.feature_groups[view]}",
                        destination=f"/opt/ml/processing/input/features/{view}",
                        input_name=f"features-{view}",
                    )
                    for view in views
                ],
            ],
            outputs=[
                ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}", destination=Join(on="/", values=[run, name]))
                for name in ("train", "test", "lineage")
            ],
        ),
        property_files=[lineage],
    )

    resources = model.training.resources
    estimator = Estimator(
        image_uri=inputs.image,
        role=inputs.role_arn,
        instance_count=1,
        instance_type=resources.instance_type,
        container_entry_point=["mlops", "sagemaker", "train"],
        environment=training_environment,
        volume_kms_key=inputs.kms_key_arn,
        output_kms_key=inputs.kms_key_arn,
        output_path=Join(on="/", values=[run, "model"]),
        max_run=int(model.training.timeout.total_seconds()),
        subnets=vpc.subnet_ids if vpc else None,
        security_group_ids=vpc.security_group_ids if vpc else None,
        encrypt_inter_container_traffic=vpc is not None,
        disable_profiler=True,
        sagemaker_session=session,
    )
    train = TrainingStep(
        "Train",
        description=f"Fit {model.training.entrypoint if model.training.custom else model.training.estimator}",
        step_args=estimator.fit(
            {
                "train": TrainingInput(
                    prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri, content_type="application/x-parquet"
                ),
                "spec": TrainingInput(inputs.spec_uri, content_type="application/json"),
                **({"code": TrainingInput(inputs.code_uri, content_type="application/zip")} if inputs.code_uri is not None else {}),
            }
        ),
    )

    evaluation = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate",
        description="Test metrics, the comparison with production, Model Monitor's baseline data set",
        step_args=processor("evaluate").run(
            inputs=[
                spec_input,
                *code_inputs,
                ProcessingInput(
                    source=train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/input/model",
                    input_name="model",
                ),
                ProcessingInput(
                    source=prepare.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
                    destination="/opt/ml/processing/input/test",
                    input_name="test",
                ),
                ProcessingInput(
                    source=prepare.properties.ProcessingOutputConfig.Outputs["lineage"].S3Output.S3Uri,
                    destination="/opt/ml/processing/input/lineage",
                    input_name="lineage",
                ),
                ProcessingInput(
                    source=f"s3://{inputs.artifacts_bucket}/models/{model.name}/production",
                    destination="/opt/ml/processing/input/production",
                    input_name="production",
                ),
            ],
            outputs=[
                ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}", destination=Join(on="/", values=[run, name]))
                for name in ("evaluation", "baseline")
            ],
        ),
        property_files=[evaluation],
    )

    check = QualityCheckStep(
        "DataQualityBaseline",
        description="Model Monitor's baseline statistics and constraints of the model's inputs and output",
        check_job_config=CheckJobConfig(
            role=inputs.role_arn,
            instance_count=1,
            instance_type=processing_type,
            volume_kms_key=inputs.kms_key_arn,
            output_kms_key=inputs.kms_key_arn,
            network_config=network,
            sagemaker_session=session,
        ),
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=evaluate.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri,
            dataset_format=DatasetFormat.csv(header=True),
            output_s3_uri=Join(on="/", values=[run, "data-quality"]),
        ),
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=inputs.group,
    )

    evaluation_uri = Join(
        on="/", values=[evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri, "evaluation.json"]
    )
    registered = Model(
        image_uri=inputs.image,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=inputs.role_arn,
        env={"MLOPS_MODEL_DIR": "/opt/ml/model", "MLOPS_SPEC": "/opt/ml/model/platform.json"},
        sagemaker_session=session,
    )
    serving = model.serving.resources
    register = ModelStep(
        "Register",
        step_args=registered.register(
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=[serving.instance_type],
            transform_instances=[(model.serving.batch.resources.instance_type if model.serving.batch else serving.instance_type)],
            model_package_group_name=inputs.group,
            approval_status="Approved" if model.registry.approval == "automatic" else "PendingManualApproval",
            model_metrics=ModelMetrics(model_statistics=MetricsSource(s3_uri=evaluation_uri, content_type="application/json")),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=MetricsSource(s3_uri=check.properties.CalculatedBaselineStatistics, content_type="application/json"),
                model_data_constraints=MetricsSource(
                    s3_uri=check.properties.CalculatedBaselineConstraints, content_type="application/json"
                ),
            ),
            customer_metadata_properties={
                "trigger_reason": reason,
                "run_id": run_id,
                "code_version": inputs.image,
                "data_snapshot": JsonGet(step_name=prepare.name, property_file=lineage, json_path="data_snapshot"),
                "estimator": model.training.entrypoint if model.training.custom else model.training.estimator,
                "parameters": json.dumps(model.training.hyperparameters, sort_keys=True),
            },
            description=f"{model.name}: {model.description or model.task}",
        ),
    )
    failed = FailStep("GateFailed", error_message=Join(on=" ", values=["The candidate failed the evaluation gate; see", evaluation_uri]))

    gate = model.training.gate
    conditions: list[Any] = []
    if gate is not None:
        metric = JsonGet(step_name=evaluate.name, property_file=evaluation, json_path=GATE_METRIC_PATH.format(metric=gate.metric))
        compare = ConditionLessThanOrEqualTo if gate.metric in LOWER_IS_BETTER else ConditionGreaterThanOrEqualTo
        conditions = [
            compare(left=metric, right=gate.threshold),
            ConditionEquals(left=JsonGet(step_name=evaluate.name, property_file=evaluation, json_path="gate.beats_production"), right=True),
        ]
    else:  # no gate: every candidate is registered
        conditions = [ConditionEquals(left=JsonGet(step_name=evaluate.name, property_file=evaluation, json_path="gate.passed"), right=True)]
    condition = ConditionStep("Gate", conditions=conditions, if_steps=[register], else_steps=[failed])
    condition.add_depends_on([check])

    pipeline = Pipeline(
        name=inputs.pipeline,
        parameters=[reason, run_id],
        steps=[prepare, train, evaluate, check, condition],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def variant(spec: Any, model_name: str | None = None, *, region: str | None = None, vpc: bool = False, **model_updates: Any) -> Any:
    """The resolved spec with one model's fields replaced, and its environment moved to AWS (``region``) or into a VPC."""
    import dataclasses

    from mlops_dsl.spec.environment import AwsTarget, AwsVpc

    platform = spec.platform
    updates: dict[str, Any] = {"models": [m.model_copy(update=model_updates) if m.name == model_name else m for m in platform.models]}
    if region is not None or vpc:
        settings = spec.settings
        network = AwsVpc(subnet_ids=["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"], security_group_ids=["sg-0a1b2c3d4e5f60718"])
        target = AwsTarget(region=region or settings.target.region, vpc=network if vpc else None)
        updates["environments"] = {**platform.environments, spec.environment: settings.model_copy(update={"target": target})}
    return dataclasses.replace(spec, platform=platform.model_copy(update=updates))
