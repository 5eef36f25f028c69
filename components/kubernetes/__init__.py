"""Kubernetes target: pulumi-kubernetes components (type tokens ``mlops:kubernetes:<Type>``)."""

from components.kubernetes.platform import KubernetesPlatform, KubernetesPlatformArgs

__all__ = ["KubernetesPlatform", "KubernetesPlatformArgs"]
