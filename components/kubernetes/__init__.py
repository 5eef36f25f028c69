"""Kubernetes target: pulumi-kubernetes components (type tokens ``mlops:kubernetes:<Type>``)."""

from components.kubernetes.feature_store import FeatureStore, FeatureStoreArgs
from components.kubernetes.foundation import Foundation, FoundationArgs
from components.kubernetes.monitoring import Monitoring, MonitoringArgs
from components.kubernetes.platform import KubernetesPlatform, KubernetesPlatformArgs
from components.kubernetes.registry import ModelRegistry, ModelRegistryArgs
from components.kubernetes.retraining import RetrainingWebhook, RetrainingWebhookArgs
from components.kubernetes.serving import ModelServing, ModelServingArgs
from components.kubernetes.training import Training, TrainingArgs

__all__ = [
    "FeatureStore",
    "FeatureStoreArgs",
    "Foundation",
    "FoundationArgs",
    "KubernetesPlatform",
    "KubernetesPlatformArgs",
    "ModelRegistry",
    "ModelRegistryArgs",
    "ModelServing",
    "ModelServingArgs",
    "Monitoring",
    "MonitoringArgs",
    "RetrainingWebhook",
    "RetrainingWebhookArgs",
    "Training",
    "TrainingArgs",
]
