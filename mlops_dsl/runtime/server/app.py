"""The model server's HTTP application (Starlette): Open Inference Protocol v2 plus /metrics.

What a model answers with, by task (every output ``[N, ...]`` for ``N`` rows):

- a binary classifier: ``probability`` (FP64 ``[N]``, the probability of
  ``classes_[1]``) and ``label`` (the predicted class, ``[N]``);
- a classifier of more than two classes: ``probabilities`` (FP64 ``[N, C]``,
  one column per class in the estimator's ``classes_`` order; each row sums
  to 1) and ``label``;
- a regressor: ``prediction`` (FP64 ``[N]``).

``label`` is INT64 for numeric (and boolean) classes and BYTES (text)
otherwise. The model metadata (``GET /v2/models/{name}``) says which outputs
a version has; for more than two classes the ``probabilities`` entry has the
shape ``[-1, C]`` and ``parameters.class_labels``, the classes in column
order (the values ``label`` takes)::

    {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3], "parameters": {"class_labels": [0, 1, 2]}}

Inputs and outputs travel as JSON or, with the binary tensor data extension
(:mod:`mlops_dsl.runtime.server.binary`), as raw bytes after a JSON header.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlops_dsl import __version__
from mlops_dsl.runtime.bodies import BodyTooLargeError, read_body
from mlops_dsl.runtime.registry import LoadedModel
from mlops_dsl.runtime.server.binary import HEADER, OCTET_STREAM, decode_binary, encode_binary, header_length
from mlops_dsl.runtime.server.capture import Capture
from mlops_dsl.runtime.server.metrics import ServerMetrics
from mlops_dsl.runtime.server.protocol import FEATURE_DATATYPES, RequestError, decode, encode, error_body
from mlops_dsl.runtime.server.slots import ModelSlots
from mlops_dsl.runtime.server.trees import SMALL_BATCH, CompiledTrees
from mlops_dsl.spec.feature_store import column_of

log = logging.getLogger("mlops.server")
JSON = "application/json"


@dataclass(frozen=True)
class ServerSettings:
    """How the server behaves; every field has a safe default."""

    poll_interval: float = 2.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows: int = 10_000
    seed: int | None = None


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _error(message: str, status: int) -> Response:
    return Response(error_body(message), status_code=status, media_type=JSON)


def class_labels(loaded: LoadedModel) -> tuple[str, np.ndarray]:
    """A classifier's classes as its ``label`` output sends them: INT64 if they are numbers (or booleans), else BYTES (text)."""
    known: tuple[str, np.ndarray] | None = loaded.extra.get("classes")
    if known is None:
        classes = np.asarray(loaded.estimator.classes_)
        known = ("INT64", classes.astype(np.int64)) if classes.dtype.kind in "biuf" else ("BYTES", classes.astype(str))
        loaded.extra["classes"] = known
    return known


def multiclass(loaded: LoadedModel) -> bool:
    """Whether a model is a classifier of more than two classes (it answers with ``probabilities``, one column per class)."""
    return loaded.task == "classification" and len(class_labels(loaded)[1]) > 2


def outputs_of(loaded: LoadedModel) -> list[str]:
    """The output tensors a model answers with."""
    known: list[str] | None = loaded.extra.get("outputs")  # asked on every request
    if known is None:
        if loaded.task != "classification":
            known = ["prediction"]
        else:
            known = ["probabilities", "label"] if multiclass(loaded) else ["probability", "label"]
        loaded.extra["outputs"] = known
    return known


def output_metadata(loaded: LoadedModel) -> list[dict[str, Any]]:
    """The model metadata's ``outputs``: each output's name, datatype and shape, and a multiclass model's class labels."""
    if loaded.task != "classification":
        return [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
    datatype, classes = class_labels(loaded)
    label = {"name": "label", "datatype": datatype, "shape": [-1]}
    if not multiclass(loaded):
        return [{"name": "probability", "datatype": "FP64", "shape": [-1]}, label]
    columns = {"class_labels": classes.tolist()}
    return [{"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)], "parameters": columns}, label]


def predict(loaded: LoadedModel, rows: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """Run the estimator: (name, datatype, values) for every output."""
    estimator = loaded.estimator
    trees: CompiledTrees | None = loaded.extra.get("trees")
    if trees is not None and rows.shape[0] <= SMALL_BATCH:
        estimator = trees  # the same figures, without scikit-learn's per-tree and per-call overhead
    if loaded.task == "classification":
        probabilities = estimator.predict_proba(rows)
        datatype, classes = class_labels(loaded)
        labels = ("label", datatype, classes[probabilities.argmax(axis=1)])
        if probabilities.shape[1] > 2:
            return [("probabilities", "FP64", np.asarray(probabilities, dtype=float)), labels]
        return [("probability", "FP64", np.asarray(probabilities[:, 1], dtype=float)), labels]
    return [("prediction", "FP64", np.asarray(estimator.predict(rows), dtype=float))]


def scalar_prediction(produced: list[tuple[str, str, np.ndarray]]) -> np.ndarray:
    """One number per row, as the training baseline's prediction distribution has it (the trainer's ``scores``).

    The positive class's probability, the regression value, or for more than
    two classes the top class's probability.
    """
    values = produced[0][2]
    return values.max(axis=1) if values.ndim == 2 else values


def create_app(slots: ModelSlots, metrics: ServerMetrics, settings: ServerSettings, capture: dict[str, Capture] | None = None) -> Starlette:
    """The server application; ``slots`` decides which versions answer."""
    chance = random.Random(settings.seed)
    captures = capture or {}

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        is_ready = slots.ready()
        return _json({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(request: Request) -> Response:
        return _json({"name": "mlops-dsl", "version": __version__, "extensions": ["binary_tensor_data"]})

    def served_or_error(name: str, version: str | None) -> tuple[Any, Response | None]:
        if name not in slots.models:
            return None, _error(f"unknown model {name!r}; this server serves: {', '.join(slots.models)}", 404)
        served = slots.get(name)
        if served is None:
            return None, _error(f"model {name!r} has no version in production yet", 503)
        if version is not None and version not in {served.stable.version, getattr(served.canary, "version", None)}:
            return None, _error(f"model {name!r} is not serving version {version!r} (serving v{served.stable.version})", 404)
        return served, None

    async def model_metadata(request: Request) -> Response:
        name = request.path_params["model"]
        served, problem = served_or_error(name, request.path_params.get("version"))
        if problem is not None:
            return problem
        types = {f"{v.name}:{f.name}": f.dtype for v in slots.platform.feature_store.feature_views for f in v.features}
        versions = [served.stable.version] + ([served.canary.version] if served.canary else [])
        return _json(
            {
                "name": name,
                "versions": versions,
                "platform": "scikit-learn",
                "inputs": [
                    {"name": column_of(ref), "datatype": FEATURE_DATATYPES[types.get(ref, "float64")], "shape": [-1]}
                    for ref in served.stable.features
                ],
                "outputs": output_metadata(served.stable),
            }
        )

    async def model_ready(request: Request) -> Response:
        name = request.path_params["model"]
        if name not in slots.models:
            return _error(f"unknown model {name!r}", 404)
        is_ready = slots.get(name) is not None
        return _json({"name": name, "ready": is_ready}, 200 if is_ready else 503)

    async def infer(request: Request) -> Response:
        started = time.perf_counter()
        name = request.path_params["model"]
        served, problem = served_or_error(name, request.path_params.get("version"))
        if problem is not None:
            return problem
        loaded = (
            served.pick(chance)
            if "version" not in request.path_params
            else (served.stable if served.stable.version == request.path_params["version"] else served.canary)
        )
        labels = (name, loaded.version)
        metrics.requests.labels(*labels).inc()
        try:
            body = await read_body(request, settings.max_body_bytes)
            binary_header = header_length(request.scope["headers"])
            if binary_header is None:
                inference = decode(body, loaded.inputs, max_rows=settings.max_rows, outputs=outputs_of(loaded), keys=slots.keys[name])
            else:
                inference = decode_binary(
                    body, binary_header, loaded.inputs, max_rows=settings.max_rows, outputs=outputs_of(loaded), keys=slots.keys[name]
                )
            produced = predict(loaded, inference.rows)
        except BodyTooLargeError as error:
            metrics.errors.labels(*labels, str(error.status)).inc()
            return _error(str(error), error.status)
        except RequestError as error:
            metrics.errors.labels(*labels, str(error.status)).inc()
            return _error(error.message, error.status)
        except Exception:
            log.exception("inference failed for %s v%s", name, loaded.version)
            metrics.errors.labels(*labels, "500").inc()
            return _error("internal error while predicting; see the server log", 500)
        rows = inference.rows
        for index, feature in enumerate(loaded.inputs):
            metrics.features.observe((name, loaded.version, feature), rows[:, index])
        scalar = scalar_prediction(produced)
        metrics.predictions.observe(labels, scalar)
        metrics.rows.labels(*labels).inc(rows.shape[0])
        wanted = [out for out in produced if inference.outputs is None or out[0] in inference.outputs]
        recorder = captures.get(name)
        if recorder is not None and recorder.sampled():
            captured = {out_name: values.tolist() for out_name, _, values in produced}
            if scalar is not produced[0][2]:
                # More than two classes: the top class's probability too, the one number per row that the
                # quality monitor reads as "probability" and the baseline's prediction distribution holds.
                captured["probability"] = scalar.tolist()
            try:
                recorder.write(
                    name,
                    loaded.version,
                    inference.request_id,
                    {feature: rows[:, i].tolist() for i, feature in enumerate(loaded.inputs)},
                    captured,
                    inference.keys,
                )
            except OSError:  # capture is best effort: a full disk must not fail predictions
                log.exception("data capture failed for %s", name)
        if (inference.binary_default or inference.binary_overrides) and any(inference.wants_binary(out[0]) for out in wanted):
            content, size = encode_binary(name, loaded.version, inference.request_id, wanted, inference.wants_binary)
            response = Response(content, media_type=OCTET_STREAM, headers={HEADER: str(size)})
        else:
            response = Response(encode(name, loaded.version, inference.request_id, wanted), media_type=JSON)
        metrics.latency.labels(*labels).observe(time.perf_counter() - started)
        return response

    async def ping(request: Request) -> Response:
        # SageMaker's container contract: GET /ping is healthy once the model is loaded.
        return Response(status_code=200 if slots.ready() else 503)

    async def invocations(request: Request) -> Response:
        # SageMaker's container contract: POST /invocations, here with an Open Inference Protocol body.
        request.scope["path_params"] = {"model": slots.models[0]}
        return await infer(request)

    async def prometheus(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for change in slots.refresh():
            log.info(change)
        slots.start(settings.poll_interval)
        yield
        slots.stop()

    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2", server_metadata),
        Route("/v2/models/{model}", model_metadata),
        Route("/v2/models/{model}/versions/{version}", model_metadata),
        Route("/v2/models/{model}/ready", model_ready),
        Route("/v2/models/{model}/infer", infer, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}/infer", infer, methods=["POST"]),
        Route("/metrics", prometheus),
        Route("/ping", ping),
        Route("/invocations", invocations, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
