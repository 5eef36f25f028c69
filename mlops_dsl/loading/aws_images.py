"""AWS-owned container images a plan names, looked up offline from the tables the SDKs ship.

SageMaker Model Monitor's analyzer lives in an AWS account that differs by
region. The sagemaker SDK keeps that table (``image_uri_config/model-monitor.json``)
and botocore the partitions' DNS suffixes (``data/partitions.json``); both are
read here as data files, without importing either package (importing the
sagemaker SDK took over a second of every AWS plan). The spec rules refuse a
region without the image; tests/test_aws_images.py holds every lookup to the
SDK's own ``image_uris.retrieve``, region by region.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

MODEL_MONITOR = "model-monitor"


class UnknownImageRegionError(ValueError):
    """The SDK's table has no registry for the region."""


def _package_dir(package: str) -> Path:
    """Where an installed package's files are, found without importing it."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ModuleNotFoundError(f"the {package} package is not installed")
    return Path(next(iter(found.submodule_search_locations)))


@functools.cache
def _image_config(framework: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((_package_dir("sagemaker") / "image_uri_config" / f"{framework}.json").read_text())
    return config


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    partitions: list[dict[str, Any]] = json.loads((_package_dir("botocore") / "data" / "partitions.json").read_text())["partitions"]
    return partitions


def dns_suffix(region: str) -> str:
    """The DNS suffix of the region's partition (amazonaws.com, amazonaws.com.cn, ...)."""
    for partition in _partitions():
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return str(partition["outputs"]["dnsSuffix"])
    raise UnknownImageRegionError(f"region {region!r} is in no AWS partition botocore knows")


def model_monitor_regions() -> list[str]:
    """The regions SageMaker Model Monitor's analyzer image is published in."""
    return sorted(_image_config(MODEL_MONITOR)["versions"][""]["registries"])


@functools.cache
def model_monitor_image(region: str) -> str:
    """SageMaker Model Monitor's analyzer image in a region."""
    config = _image_config(MODEL_MONITOR)["versions"][""]
    registries: dict[str, str] = config["registries"]
    if region not in registries:
        raise UnknownImageRegionError(f"SageMaker Model Monitor has no image in region {region!r}; it has: {', '.join(sorted(registries))}")
    return f"{registries[region]}.dkr.ecr.{region}.{dns_suffix(region)}/{config['repository']}"
