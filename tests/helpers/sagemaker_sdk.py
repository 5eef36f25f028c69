"""The sagemaker SDK, set up once per process to build the reference pipeline definitions and images offline.

The project no longer imports the SDK (see components/aws/pipeline_definition.py);
the tests do, as the reference its definitions and image lookups are held to.

The SDK is made for talking to AWS: every session creates a boto3 session
and its clients (parsing botocore's service models again), every estimator a
TensorBoard helper with one more client, and every image lookup parses
botocore's endpoint table again. A plan built one definition and looked up
two images per model, so these costs grew with every model (a third of a
50-model plan). Here the session is created once per region and bucket, the
endpoint table parsed once, and the helper left out; the definitions and
images are the same.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from typing import Any

# The SDK (v2, pinned: it shares its dependencies with Pulumi here) warns about v3 at every
# import, and narrates every field it leaves for execution time; only its errors matter here.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
for _noisy in ("sagemaker", "sagemaker.config", "sagemaker.deprecations", "sagemaker.workflow"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


@functools.cache
def prepared() -> None:
    """Import the SDK and make it offline.

    The import is most of an AWS plan's time (about a second here): the package imports
    pandas, scipy, a pydantic model for every SageMaker API shape, and creates JumpStart's
    default session, whatever submodule is asked for.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sagemaker  # noqa: F401 - the package itself: every submodule import runs it
    from sagemaker import estimator, utils
    from sagemaker.telemetry import telemetry_logging

    # Building a definition is offline: no usage pings. (The SDK's documented opt-out, a
    # TelemetryOptOut config, makes it re-validate that config on every lookup: 10 s here.)
    telemetry_logging._send_telemetry_request = lambda *args, **kwargs: None
    # Image lookups resolve the ECR host from botocore's endpoint table, which the SDK loads from
    # disk (1.2 MB of JSON) on every call; the table is read-only, so one load serves them all.
    utils._botocore_resolver = functools.cache(utils._botocore_resolver)
    # Every estimator opens a TensorBoard helper, for links to Studio's TensorBoard while a job
    # runs, and the helper its own boto3 client (20 ms each, and the first parses the SageMaker
    # service model again). A definition never uses it.
    estimator.TensorBoardApp = _NoTensorBoard


class _NoTensorBoard:
    """Stands in for the SDK's TensorBoard helper, which building a definition never calls."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region


@functools.cache
def pipeline_session(region: str, default_bucket: str) -> Any:
    """A pipeline session that makes no AWS calls and never looks up (or creates) a default bucket: ours is given.

    One per region and bucket: a session is only read while building, apart from the step
    context, which :func:`fresh_pipeline_session` clears before each definition.
    """
    prepared()
    import boto3
    from sagemaker.workflow.pipeline_context import PipelineSession

    class OfflineSession(PipelineSession):
        def default_bucket(self) -> str:  # type: ignore[override]
            return default_bucket

    # Credentials are never used: building a definition makes no AWS calls.
    boto = boto3.Session(region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused")
    return OfflineSession(boto_session=boto, default_bucket=default_bucket)


def fresh_pipeline_session(region: str, default_bucket: str) -> Any:
    """The region's and bucket's session, with no step context left from a previous definition."""
    session = pipeline_session(region, default_bucket)
    session.context = None  # steps record their requests here; each definition starts without one
    return session
