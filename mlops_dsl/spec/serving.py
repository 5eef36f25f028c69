"""Serving: the online endpoint with its autoscaling, canary and data capture, and batch inference."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt

from mlops_dsl.spec.base import Cron, Duration, Name, SpecModel
from mlops_dsl.spec.training import Resources


class Autoscaling(SpecModel):
    """Bounds and target for scaling the online endpoint.

    ``metric="cpu"`` targets a CPU utilization percent (a Kubernetes HPA);
    ``"requests_per_second"`` targets requests per second per replica (per
    instance on SageMaker, where it becomes invocations per minute).
    """

    min_replicas: StrictInt = Field(default=1, ge=1, le=1000)
    max_replicas: StrictInt = Field(default=4, ge=1, le=1000)
    metric: Literal["cpu", "requests_per_second"] = "cpu"
    target: StrictFloat = Field(default=70.0, gt=0, le=100_000)


class Canary(SpecModel):
    """A new version first receives ``percent`` of traffic for ``bake_time``.

    If any alert named in ``rollback_on`` fires during the bake time the canary
    is rolled back; otherwise it is promoted to all traffic.
    """

    percent: StrictInt = Field(ge=1, le=99)
    bake_time: Duration = timedelta(minutes=15)
    rollback_on: list[Name] = Field(min_length=1)


CaptureMode = Literal["request", "response"]
CAPTURE_MODES: tuple[CaptureMode, ...] = ("request", "response")


class DataCapture(SpecModel):
    """Sampling of live requests and responses, for monitoring and ground-truth joins."""

    enabled: StrictBool = True
    sampling_percent: StrictInt = Field(default=100, ge=1, le=100)
    capture: list[CaptureMode] = Field(default_factory=lambda: list(CAPTURE_MODES), min_length=1)


class BatchInference(SpecModel):
    """A scheduled scoring job over a whole input data set."""

    schedule: Cron
    input: str = Field(min_length=1)
    output: str = Field(min_length=1)
    resources: Resources = Field(default_factory=Resources)
    replicas: StrictInt = Field(default=1, ge=1, le=100)


class Serving(SpecModel):
    """How a model is served: online (an endpoint), in batch, or both.

    ``replicas`` is the replica count on Kubernetes and locally, and the
    instance count on SageMaker; with ``autoscaling`` it is the initial count.
    ``public`` exposes the endpoint beyond the platform: through the target's
    gateway on Kubernetes, on every interface locally; SageMaker endpoints stay
    private to signed AWS API calls, so AWS refuses it.
    """

    online: StrictBool = True
    replicas: StrictInt = Field(default=1, ge=1, le=1000)
    resources: Resources = Field(default_factory=lambda: Resources(cpu="500m", memory="1Gi"))
    autoscaling: Autoscaling | None = None
    canary: Canary | None = None
    data_capture: DataCapture = Field(default_factory=DataCapture)
    public: StrictBool = False
    batch: BatchInference | None = None


__all__ = ["Autoscaling", "BatchInference", "Canary", "DataCapture", "Serving"]
