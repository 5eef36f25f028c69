"""AWS-owned images looked up offline from the SDKs' data files, against the sagemaker SDK's own lookup."""

from __future__ import annotations

import json
import warnings

import pytest

from mlops_dsl.loading.aws_images import UnknownImageRegionError, dns_suffix, model_monitor_image, model_monitor_regions
from tests.helpers.sagemaker_sdk import prepared

REGIONS = model_monitor_regions()


def test_the_table_has_commercial_china_and_isolated_regions() -> None:
    assert len(REGIONS) >= 25
    assert {"eu-west-1", "us-east-1", "cn-north-1", "us-isof-east-1"} <= set(REGIONS)


@pytest.mark.parametrize("region", REGIONS)
def test_the_model_monitor_image_is_the_one_the_sdk_retrieves(region: str) -> None:
    prepared()
    from sagemaker import image_uris

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = image_uris.retrieve("model-monitor", region)
    assert model_monitor_image(region) == expected


def test_partitions_have_their_own_dns_suffix() -> None:
    assert dns_suffix("eu-west-1") == "amazonaws.com"
    assert dns_suffix("cn-northwest-1") == "amazonaws.com.cn"
    assert dns_suffix("us-gov-east-1") == "amazonaws.com"


def test_a_region_without_model_monitor_is_named_in_a_one_line_error() -> None:
    with pytest.raises(UnknownImageRegionError) as raised:
        model_monitor_image("xx-nowhere-9")
    message = str(raised.value)
    assert "\n" not in message and "'xx-nowhere-9'" in message and "eu-west-1" in message
    assert json.dumps(message)  # plain text
