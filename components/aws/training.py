"""Training on AWS: a model's SageMaker Pipeline, its execution role, and its schedule on EventBridge."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import Account, statement
from components.aws.pipeline_definition import PipelineInputs, build
from mlops_dsl.contracts.aws import RUN_ID_PARAMETER, TRIGGER_REASON_PARAMETER
from mlops_dsl.contracts.names import autonamed
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.schedules import eventbridge_cron

ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repository>[a-z0-9._/-]+?)(:[\w.-]+|@sha256:[0-9a-f]{64})$"
)


def repository_arn(image: str) -> str:
    """The ECR repository an image URI names."""
    match = ECR_IMAGE.match(image)
    if match is None:
        raise ValueError(f"not an Amazon ECR image URI: {image!r}")
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


def image_pull_statements(image: str) -> list[dict[str, object]]:
    """Pulling the runtime image from its ECR repository."""
    return [
        statement(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], [repository_arn(image)]),
        statement(["ecr:GetAuthorizationToken"], ["*"]),
    ]


@dataclass(frozen=True)
class TrainingPipelineArgs:
    """Inputs of :class:`TrainingPipeline`."""

    account: Account
    model: Model
    data_bucket: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    spec_uri: pulumi.Input[str]
    feature_groups: dict[str, str]
    code_uri: pulumi.Input[str] | None = None
    """The team's code archive in the artifacts bucket (``s3://<bucket>/<key>``), which every step gets; None without code."""


class TrainingPipeline(pulumi.ComponentResource):
    """The model's pipeline: prepare, train, evaluate, baseline, gate, register."""

    pipeline_name: pulumi.Output[str]
    """The pipeline's name (the retraining trigger starts executions of it)."""
    pipeline_arn: pulumi.Output[str]
    """The pipeline's ARN."""
    role_arn: pulumi.Output[str]
    """The execution role its jobs run as."""

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:TrainingPipeline", name, {}, opts)
        account, model = args.account, args.model
        names = account.names
        image = model.training.image or account.spec.platform.image
        pipeline_name = names.pipeline(model.name)
        group = names.model_package_group(model.name)
        data_arn = pulumi.Output.concat("arn:aws:s3:::", args.data_bucket)
        artifacts_arn = pulumi.Output.concat("arn:aws:s3:::", args.artifacts_bucket)
        label_source = next(s for s in account.spec.platform.feature_store.sources if s.name == model.label.source)
        # Reading the code archive (its key is its hash: exactly this archive, and each new one with its deployment).
        code_read = (
            [
                statement(
                    ["s3:GetObject"],
                    [pulumi.Output.from_input(args.code_uri).apply(lambda uri: "arn:aws:s3:::" + uri.removeprefix("s3://"))],
                )
            ]
            if args.code_uri is not None
            else []
        )
        role = account.role(
            f"{name}-role",
            "sagemaker.amazonaws.com",
            [
                statement(
                    [
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:AddTags",
                    ],
                    [account.arn("sagemaker", "processing-job/pipelines-*")],
                ),
                statement(
                    ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"],
                    [account.arn("sagemaker", "training-job/pipelines-*")],
                ),
                statement(
                    ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
                    [account.arn("sagemaker", f"model-package/{group}/*"), account.arn("sagemaker", f"model-package-group/{group}")],
                ),
                statement(["s3:ListBucket"], [data_arn, artifacts_arn]),
                statement(
                    ["s3:GetObject"],
                    [
                        pulumi.Output.concat(data_arn, f"/{label_source.path.strip('/')}/*"),
                        pulumi.Output.concat(data_arn, "/feature-store/*"),
                    ],
                ),
                statement(
                    ["s3:GetObject", "s3:PutObject"],
                    [
                        pulumi.Output.concat(artifacts_arn, f"/pipelines/{model.name}/*"),
                        pulumi.Output.concat(artifacts_arn, f"/models/{model.name}/*"),
                    ],
                ),
                statement(["s3:GetObject"], [pulumi.Output.concat(artifacts_arn, "/spec/*")]),
                *code_read,
                statement(
                    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], [account.kms_key_arn]
                ),
                *image_pull_statements(image),
                statement(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [
                        account.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs:*"),
                        account.arn("logs", "log-group:/aws/sagemaker/TrainingJobs:*"),
                    ],
                ),
                statement(["cloudwatch:PutMetricData"], ["*"], Condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
            ],
            parent=self,
        )
        # The role passes itself to the jobs it starts, and only itself.
        aws.iam.RolePolicy(
            f"{name}-pass-role",
            name=autonamed(f"{name}-pass-role", "role_policy"),
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        statement(
                            ["iam:PassRole"], [role.arn], Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
                        )
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        # The evaluation step reads the production model from here; an empty prefix would fail the
        # step before the first deployment, so it always holds this note.
        aws.s3.BucketObjectv2(
            f"{name}-production-placeholder",
            bucket=args.artifacts_bucket,
            key=f"models/{model.name}/production/README.txt",
            content="The production version's model.tar.gz and evaluation.json are copied here on deployment.\n",
            server_side_encryption="aws:kms",
            kms_key_id=account.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        definition = pulumi.Output.all(
            role.arn, args.data_bucket, args.artifacts_bucket, account.account_id, account.kms_key_arn, args.spec_uri, args.code_uri
        ).apply(
            lambda values: build(
                account.spec,
                model.name,
                PipelineInputs(
                    role_arn=values[0],
                    image=image,
                    data_bucket=values[1],
                    artifacts_bucket=values[2],
                    account_id=values[3],
                    kms_key_arn=values[4],
                    spec_uri=values[5],
                    pipeline=pipeline_name,
                    group=group,
                    feature_groups=args.feature_groups,
                    code_uri=values[6],
                ),
            )
        )
        pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=f"Train, evaluate, gate and register model {model.name}",
            role_arn=role.arn,
            pipeline_definition=definition,
            tags=account.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if model.training.schedule is not None:
            events = account.role(
                f"{name}-schedule-role",
                "events.amazonaws.com",
                [statement(["sagemaker:StartPipelineExecution"], [pipeline.arn])],
                parent=self,
            )
            rule = aws.cloudwatch.EventRule(
                f"{name}-schedule",
                name=names.rule(model.name, "training-schedule"),
                description=f"Scheduled training of {model.name}: {model.training.schedule}",
                schedule_expression=eventbridge_cron(model.training.schedule),
                tags=account.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-schedule-target",
                target_id=autonamed(f"{name}-schedule-target", "event_target"),
                rule=rule.name,
                arn=pipeline.arn,
                role_arn=events.arn,
                sagemaker_pipeline_target={
                    "pipeline_parameter_lists": [
                        {"name": TRIGGER_REASON_PARAMETER, "value": f"schedule ({model.training.schedule})"},
                        {"name": RUN_ID_PARAMETER, "value": "scheduled"},
                    ]
                },
                opts=pulumi.ResourceOptions(parent=rule),
            )
        self.pipeline_name = pulumi.Output.from_input(pipeline_name)
        self.pipeline_arn = pipeline.arn
        self.role_arn = role.arn
        self.register_outputs({"pipeline_name": self.pipeline_name, "pipeline_arn": self.pipeline_arn, "role_arn": self.role_arn})
