"""What the AWS target hands to its Lambda functions: environment variable names, settings shapes, pipeline parameters.

Both sides import this module: the Pulumi components that set the variables and
build the settings (``components/aws``), and the functions that read them
(:mod:`mlops_dsl.aws`, which the function archive ships with this folder). The
settings travel as JSON in an environment variable; the ``TypedDict`` s below are
that JSON's shape, so mypy checks a key on the side that writes it and on the side
that reads it. Standard library only.

No ``from __future__ import annotations`` here: with string annotations, Python 3.11
does not see ``NotRequired`` and counts every key as required at run time
(``__required_keys__``, which tests/test_contracts.py checks rendered settings against).
"""

from typing import Literal, NotRequired, TypedDict

# Environment variable names.

DEPLOY_CONFIG_ENV = "MLOPS_DEPLOY_CONFIG"
"""The deploy function's settings, by model package group (JSON, a :class:`DeployConfig`)."""
BATCH_CONFIG_ENV = "MLOPS_BATCH_CONFIG"
"""The batch function's settings, by model (JSON, a :class:`BatchConfig`)."""
TRIGGER_CONFIG_ENV = "MLOPS_TRIGGER_CONFIG"
"""The trigger function's models, alarms and sources (JSON, a :class:`TriggerConfig`)."""
TRIGGER_TABLE_ENV = "MLOPS_TABLE"
"""The trigger function's DynamoDB state table."""
SLACK_WEBHOOK_URL_ENV = "MLOPS_SLACK_WEBHOOK_URL"
"""The Slack forwarder's incoming webhook URL (a secret)."""
SLACK_CHANNEL_ENV = "MLOPS_SLACK_CHANNEL"
"""The Slack forwarder's channel (empty: the webhook's own channel)."""
MONITOR_FEATURES_ENV = "MLOPS_FEATURES"
"""Model Monitor's record preprocessor: the model's input features in order (JSON list).

The preprocessor runs alone in Model Monitor's container, so it spells this name
itself; tests/test_contracts.py checks it matches.
"""

# SageMaker pipeline parameters.

TRIGGER_REASON_PARAMETER = "TriggerReason"
"""The pipeline parameter that carries why a run started (recorded on the model package)."""
RUN_ID_PARAMETER = "RunId"
"""The pipeline parameter that carries the run's id."""


# The deploy function (MLOPS_DEPLOY_CONFIG).


class CaptureSettings(TypedDict):
    """Data capture of the endpoint's traffic (the endpoint configuration's DataCaptureConfig)."""

    enabled: bool
    sampling_percent: int
    destination: str
    """S3 URI the captured exchanges go to."""
    modes: list[str]
    """What is captured: "request", "response"."""


class CanarySettings(TypedDict):
    """The blue/green canary traffic shift of an endpoint update."""

    percent: int
    """Capacity percent the new version gets first."""
    bake_seconds: int
    """How long the canary runs before the rest of the traffic shifts."""


class AutoscalingSettings(TypedDict):
    """Target-tracking autoscaling of the endpoint's variant."""

    min: int
    max: int
    metric: Literal["cpu", "requests_per_second"]
    target: float
    """CPU percent, or requests per second per instance."""


class MonitoringSettings(TypedDict):
    """Model Monitor's data-quality schedule (its job definition is declared by Pulumi)."""

    schedule: str
    job_definition: str
    cron: str


class QualitySettings(TypedDict):
    """Model Monitor's model-quality job definition and schedule (both created by the deploy function)."""

    job_definition: str
    schedule: str
    problem_type: Literal["Regression", "BinaryClassification"]
    ground_truth: str
    """S3 URI of the uploaded ground truth."""
    output: str
    """S3 URI the job's reports go to."""
    image: str
    instance_type: str


class VpcSettings(TypedDict):
    """The VPC the model's containers run in (SageMaker's VpcConfig, as it is)."""

    Subnets: list[str]
    SecurityGroupIds: list[str]


class DeploySettings(TypedDict):
    """What the deploy function needs to roll a version of one model out to its endpoint."""

    model: str
    endpoint: str
    role_arn: str
    """The role the endpoint's containers run as."""
    monitor_role_arn: str
    """The role Model Monitor's jobs run as."""
    instance_type: str
    initial_instance_count: int
    kms_key: str
    """The platform's KMS key ARN (endpoint volumes, capture, monitoring outputs, published copies)."""
    capture: CaptureSettings
    canary: CanarySettings | None
    """None: updates shift all traffic at once."""
    rollback_alarms: list[str]
    """CloudWatch alarms that roll an update back."""
    autoscaling: AutoscalingSettings
    artifacts_bucket: str
    """Where the deployed version's model, evaluation and baseline are published."""
    monitoring: MonitoringSettings
    quality: QualitySettings | None
    """None: the model has no quality monitor, or does not serve online."""
    vpc: NotRequired[VpcSettings]
    """Present only when the target declares a VPC."""


class DeployConfig(TypedDict):
    """The deploy function's configuration: each model package group's settings."""

    groups: dict[str, DeploySettings]


# The batch function (MLOPS_BATCH_CONFIG).


class BatchSettings(TypedDict):
    """What the batch function needs to score one model's data set with its newest approved version."""

    model: str
    group: str
    """The model package group."""
    endpoint: str
    """The endpoint's name, which SageMaker model and transform job names start with."""
    role_arn: str
    input: str
    """S3 URI of the prefix to score."""
    output: str
    """S3 URI of the prefix the scores go to."""
    kms_key: str
    instance_type: str
    instance_count: int


class BatchConfig(TypedDict):
    """The batch function's configuration: each batch-scored model's settings."""

    models: dict[str, BatchSettings]


# The trigger function (MLOPS_TRIGGER_CONFIG).


class TriggerModel(TypedDict):
    """One model's pipeline and retraining limits."""

    pipeline: str
    """The SageMaker pipeline's name."""
    cooldown_seconds: int
    dedup_seconds: int
    max_concurrent_runs: int
    min_new_rows: dict[str, int]
    """New rows a source needs before a run is considered, by source (only sources whose trigger asks)."""


class TriggerAlarm(TypedDict):
    """What an alarm entering ALARM retrains: the model, and the monitor the alarm stands for."""

    model: str
    monitor: str


class TriggerSource(TypedDict):
    """A feature source whose new raw data triggers retraining."""

    prefix: str
    """The raw-data key prefix in the data bucket, ending in "/"."""
    source: str
    models: list[str]
    """The models it retrains."""
    bucket: str


class TriggerConfig(TypedDict):
    """The trigger function's configuration: models by name, alarms by alarm name, watched sources."""

    models: dict[str, TriggerModel]
    alarms: dict[str, TriggerAlarm]
    sources: list[TriggerSource]
