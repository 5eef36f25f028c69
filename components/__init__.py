"""Pulumi components that realize a resolved platform spec, one package per target."""

from components.platform import build_platform

__all__ = ["build_platform"]
