"""The monitor's HTTP application (Starlette): /metrics, /drift, /quality and /healthz.

The app's lifespan runs the monitors, each in its own thread: the drift
monitor always, the quality monitor when a model declares a quality monitor,
the canary controller when a model serves a canary.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlops_dsl.spec.monitoring import ModelQuality
from mlops_dsl.spec.platform import Platform

if TYPE_CHECKING:
    from mlops_dsl.runtime.monitors.canary import CanaryController
    from mlops_dsl.runtime.monitors.drift import DriftMonitor
    from mlops_dsl.runtime.monitors.quality import QualityMonitor

JSON = "application/json"


def monitor_routes(drift: DriftMonitor, quality: QualityMonitor, metrics: CollectorRegistry) -> list[Route]:
    """The monitor's endpoints: Prometheus metrics, the latest drift and quality readings, health."""

    async def metrics_route(request: Request) -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    async def readings(request: Request) -> Response:
        return Response(
            orjson.dumps({"readings": [r.__dict__ for r in drift.readings]}, option=orjson.OPT_SERIALIZE_NUMPY),
            media_type=JSON,
        )

    async def quality_readings(request: Request) -> Response:
        return Response(orjson.dumps({"readings": [r.__dict__ for r in quality.readings]}), media_type=JSON)

    async def health(request: Request) -> Response:
        return Response(b'{"ok": true}', media_type=JSON)

    return [Route("/metrics", metrics_route), Route("/drift", readings), Route("/quality", quality_readings), Route("/healthz", health)]


def monitor_lifespan(
    platform: Platform, drift: DriftMonitor, quality: QualityMonitor, canaries: CanaryController, interval: float
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Start the monitors' threads with the app, every ``interval`` seconds; stop them when it stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=drift.run, args=(interval,), name="mlops-drift", daemon=True).start()
        if any(isinstance(m, ModelQuality) for model in platform.models for m in model.monitors):
            # Its own thread: reading a day of captures and labels must not delay the drift scores.
            threading.Thread(target=quality.run, args=(interval,), name="mlops-quality", daemon=True).start()
        if any(m.serving.canary for m in platform.models):
            threading.Thread(target=canaries.run, args=(interval,), name="mlops-canary", daemon=True).start()
        yield
        drift.stop()
        quality.stop()
        canaries.stop()

    return lifespan


def create_monitor_app(
    platform: Platform,
    drift: DriftMonitor,
    quality: QualityMonitor,
    canaries: CanaryController,
    metrics: CollectorRegistry,
    interval: float,
) -> Starlette:
    """The monitor application: its routes, and a lifespan that runs the monitors every ``interval`` seconds."""
    return Starlette(
        routes=monitor_routes(drift, quality, metrics),
        lifespan=monitor_lifespan(platform, drift, quality, canaries, interval),
    )
