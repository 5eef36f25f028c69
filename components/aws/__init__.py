"""AWS target: pulumi-aws components (type tokens ``mlops:aws:<Type>``)."""

from components.aws.feature_store import FeatureStore, FeatureStoreArgs
from components.aws.monitoring import Monitoring, MonitoringArgs
from components.aws.platform import AwsPlatform, AwsPlatformArgs
from components.aws.registry import ModelRegistry, ModelRegistryArgs
from components.aws.retraining import RetrainingTrigger, RetrainingTriggerArgs
from components.aws.serving import ModelServing, ModelServingArgs
from components.aws.storage import Storage, StorageArgs
from components.aws.training import TrainingPipeline, TrainingPipelineArgs

__all__ = [
    "AwsPlatform",
    "AwsPlatformArgs",
    "FeatureStore",
    "FeatureStoreArgs",
    "ModelRegistry",
    "ModelRegistryArgs",
    "ModelServing",
    "ModelServingArgs",
    "Monitoring",
    "MonitoringArgs",
    "RetrainingTrigger",
    "RetrainingTriggerArgs",
    "Storage",
    "StorageArgs",
    "TrainingPipeline",
    "TrainingPipelineArgs",
]
