"""Start the runtime services from the command line: ``mlops serve|monitor|trigger|train|features|batch|sagemaker``.

Each function reads one command's flags and environment variables, builds its
service from the modules that implement it, and runs it in the foreground. The
heavy imports (MLflow, Feast, uvicorn) happen inside the functions, so
``mlops validate`` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from mlops_dsl.contracts.environment import (
    MODEL_DIR_ENV,
    MODEL_ENV,
    RESULT_URL_ENV,
    RUN_ID_ENV,
    SPEC_ENV,
    STATE_DIR_ENV,
    TRIGGER_REASON_ENV,
    TRIGGER_URL_ENV,
    WEBHOOK_SECRET_ENV,
    WEBHOOK_SECRET_FILE_ENV,
)
from mlops_dsl.runtime.state import StatePaths, default_state_dir, load_for_service
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("uvicorn.access", "httpx", "urllib3", "mlflow", "alembic", "feast"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _paths(args: argparse.Namespace, spec: Any) -> StatePaths:
    return StatePaths(Path(args.state_dir or os.environ.get(STATE_DIR_ENV) or default_state_dir(spec)).resolve())


def _uvicorn(app: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")


def serve(args: argparse.Namespace) -> int:
    """Run the model server."""
    from prometheus_client import CollectorRegistry

    from mlops_dsl.runtime.registry import ModelRegistry
    from mlops_dsl.runtime.server.app import ServerSettings, create_app
    from mlops_dsl.runtime.server.capture import Capture
    from mlops_dsl.runtime.server.metrics import ServerMetrics
    from mlops_dsl.runtime.server.slots import ModelSlots

    spec = load_for_service(args.spec, args.env)
    model_dir = os.environ.get(MODEL_DIR_ENV)
    if model_dir:
        return _serve_model_dir(args, spec, Path(model_dir))
    names = args.model or [m.name for m in spec.platform.models if m.serving.online]
    unknown = [name for name in names if name not in {m.name for m in spec.platform.models}]
    if unknown:
        raise SpecError([Problem("--model", got_allowed(unknown[0], "a model of the spec"), source="mlops serve")])
    _logging(args.verbose)
    paths = _paths(args, spec)
    registry = ModelRegistry(paths.registry_uri())
    metrics = ServerMetrics(CollectorRegistry())
    slots = ModelSlots(spec.platform, names, registry, metrics, role=args.role)
    captures = {name: Capture(paths.capture, spec.platform.model(name).serving.data_capture) for name in names}
    settings = ServerSettings(poll_interval=args.poll_interval, max_body_bytes=args.max_body_bytes)
    logging.getLogger("mlops.server").info("serving %s on http://%s:%d", ", ".join(names), args.host, args.port)
    _uvicorn(create_app(slots, metrics, settings, captures), args.host, args.port)
    return 0


def _serve_model_dir(args: argparse.Namespace, spec: Any, folder: Path) -> int:
    """Serve the one version in a model directory: a SageMaker endpoint's container (port 8080)."""
    from prometheus_client import CollectorRegistry

    from mlops_dsl.runtime.registry import LoadedModel
    from mlops_dsl.runtime.sagemaker_steps import load_model_dir
    from mlops_dsl.runtime.server.app import ServerSettings, create_app
    from mlops_dsl.runtime.server.metrics import ServerMetrics
    from mlops_dsl.runtime.server.slots import ModelSlots

    _logging(args.verbose)
    estimator, features, metadata, baseline = load_model_dir(folder)
    loaded = LoadedModel(metadata["model"], str(metadata.get("version", "1")), estimator, features, metadata["task"], baseline)
    metrics = ServerMetrics(CollectorRegistry())
    app = create_app(ModelSlots.fixed(spec.platform, loaded, metrics), metrics, ServerSettings(max_body_bytes=args.max_body_bytes))
    # SageMaker's port is 8080, or what it sets in SAGEMAKER_BIND_TO_PORT (multi-container endpoints).
    _uvicorn(app, "0.0.0.0", int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    return 0


def sagemaker(args: argparse.Namespace) -> int:
    """A SageMaker pipeline step: prepare (processing), train (training) or evaluate (processing)."""
    from mlops_dsl.runtime import sagemaker_steps as steps

    spec = load_for_service(args.spec, args.env)
    _logging(args.verbose)
    model = args.model or os.environ.get(MODEL_ENV)
    if model not in {m.name for m in spec.platform.models}:
        raise SpecError([Problem("--model", got_allowed(model, f"a model of the spec (or set {MODEL_ENV})"), source="mlops sagemaker")])
    root = Path(args.root or ("/opt/ml" if args.step == "train" else "/opt/ml/processing"))
    try:
        if args.step == "prepare":
            steps.prepare(spec, model, root)
        elif args.step == "train":
            steps.train(spec, model, root)
        else:
            steps.evaluate_step(spec, model, root)
    except steps.StepFailedError as error:
        # SageMaker shows a job's failure reason from this file.
        failure = Path("/opt/ml/output/failure") if args.root is None else root / "failure"
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(str(error))
        logging.getLogger("mlops.sagemaker").error("%s failed: %s", args.step, error)
        return 1
    return 0


def monitor(args: argparse.Namespace) -> int:
    """Run the drift and quality monitors (and the canary controller): /metrics, /drift, /quality, /healthz."""
    from prometheus_api_client import PrometheusConnect
    from prometheus_client import CollectorRegistry

    from mlops_dsl.runtime.monitors.app import create_monitor_app
    from mlops_dsl.runtime.monitors.canary import CanaryController, PrometheusAlerts
    from mlops_dsl.runtime.monitors.drift import DriftMonitor
    from mlops_dsl.runtime.monitors.quality import QualityMonitor
    from mlops_dsl.runtime.registry import CANARY, PRODUCTION, ModelRegistry

    spec = load_for_service(args.spec, args.env)
    _logging(args.verbose)
    paths = _paths(args, spec)
    metrics = CollectorRegistry()
    prometheus = PrometheusConnect(args.prometheus_url, disable_ssl=True)
    registry = ModelRegistry(paths.registry_uri())
    drift = DriftMonitor(spec.platform, registry, prometheus, metrics, args.min_samples)

    def served(model: str) -> set[str]:
        return {v for v in (registry.alias_version(model, PRODUCTION), registry.alias_version(model, CANARY)) if v is not None}

    # Captured predictions and labels live in the state directory, beside the registry.
    quality = QualityMonitor(spec.platform, paths.capture, paths.data_root, metrics, served)
    # The same process watches canaries: both read Prometheus and the registry.
    canaries = CanaryController(spec.platform, registry, PrometheusAlerts(prometheus))
    app = create_monitor_app(spec.platform, drift, quality, canaries, metrics, args.interval)
    logging.getLogger("mlops.drift").info("drift and quality monitor on http://%s:%d reading %s", args.host, args.port, args.prometheus_url)
    _uvicorn(app, args.host, args.port)
    return 0


def _secret() -> str:
    path = os.environ.get(WEBHOOK_SECRET_FILE_ENV)
    if path:
        try:
            secret = Path(path).read_text().strip()
        except OSError as error:
            raise SpecError([Problem(WEBHOOK_SECRET_FILE_ENV, f"cannot be read: {error.strerror}", source="mlops trigger")]) from None
        if not secret:
            empty = got_allowed(path, "a file holding the webhook secret", "the file is empty")
            raise SpecError([Problem(WEBHOOK_SECRET_FILE_ENV, empty, source="mlops trigger")])
        return secret
    secret = os.environ.get(WEBHOOK_SECRET_ENV, "").strip()
    if not secret:
        raise SpecError(
            [
                Problem(
                    WEBHOOK_SECRET_ENV,
                    got_allowed(None, f"the webhook secret, in {WEBHOOK_SECRET_ENV} or a file named by {WEBHOOK_SECRET_FILE_ENV}"),
                    source="mlops trigger",
                )
            ]
        )
    return secret


def local_trainer_command(spec_file: Path, environment: str, state_dir: Path) -> list[str]:
    """The local backend's training command line; the backend fills in ``{model}``, ``{reason}``, ``{run_id}`` and ``{result}``."""
    return [
        sys.executable, "-P", "-m", "mlops_dsl", "train",
        "--spec", str(spec_file.resolve()), "--env", environment,
        "--state-dir", str(state_dir),
        "--model", "{model}", "--reason", "{reason}", "--run-id", "{run_id}", "--result", "{result}",
    ]  # fmt: skip


def _backend(args: argparse.Namespace, spec: Any, paths: StatePaths) -> Any:
    from mlops_dsl.aws.pipelines import SageMakerPipelineBackend
    from mlops_dsl.runtime.retraining.backends import KubernetesJobBackend, LocalProcessBackend

    if args.backend == "local":
        command = args.trainer_command or local_trainer_command(Path(args.spec or os.environ[SPEC_ENV]), spec.environment, paths.root)
        return LocalProcessBackend(command, paths.runs)
    if args.backend == "kubernetes":
        import yaml

        folder = Path(args.job_templates or "/etc/mlops/jobs")
        templates = {m.name: yaml.safe_load((folder / f"{m.name}.yaml").read_text()) for m in spec.platform.models}
        return KubernetesJobBackend(
            args.namespace or os.environ.get("POD_NAMESPACE", "default"), templates, result_url=os.environ.get(TRIGGER_URL_ENV)
        )
    pipelines = dict(item.split("=", 1) for item in args.pipeline or [])
    return SageMakerPipelineBackend({m.name: pipelines.get(m.name, f"{spec.platform.name}-{m.name}") for m in spec.platform.models})


def trigger(args: argparse.Namespace) -> int:
    """Run the retraining trigger."""
    from mlops_dsl.runtime.retraining.service import RetrainingTrigger, create_app
    from mlops_dsl.runtime.retraining.store import StoreError, TriggerStore

    spec = load_for_service(args.spec, args.env)
    secret = _secret()
    _logging(args.verbose)
    paths = _paths(args, spec)
    try:
        store = TriggerStore(paths.trigger_db)
    except StoreError as error:
        raise SpecError([Problem("", str(error), source="mlops trigger")]) from None
    service = RetrainingTrigger(spec.platform, store, _backend(args, spec, paths), data_root=paths.data_root)
    app = create_app(service, auth=spec.platform.retraining_webhook.auth, secret=secret, interval=args.interval)
    logging.getLogger("mlops.trigger").info("retraining trigger on http://%s:%d (%s backend)", args.host, args.port, args.backend)
    _uvicorn(app, args.host, args.port)
    return 0


def train(args: argparse.Namespace) -> int:
    """Run one training run of one model; exit 0 if the run completed (promoted or not)."""
    spec = load_for_service(args.spec, args.env)
    if args.model not in {m.name for m in spec.platform.models}:
        raise SpecError([Problem("--model", got_allowed(args.model, "a model of the spec"), source="mlops train")])
    _logging(args.verbose)
    from datetime import UTC, datetime

    from mlops_dsl.runtime.features import store_for
    from mlops_dsl.runtime.registry import ModelRegistry
    from mlops_dsl.runtime.trainer import TrainResult, train

    paths = _paths(args, spec)
    run_id = args.run_id or os.environ.get(RUN_ID_ENV) or f"{args.model}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    reason = args.reason or os.environ.get(TRIGGER_REASON_ENV) or "manual"
    log = logging.getLogger("mlops.trainer")
    try:
        store = store_for(spec, paths.feature_repo, paths.data_root)
        result = train(
            spec,
            args.model,
            registry=ModelRegistry(paths.registry_uri()),
            store=store,
            data_root=paths.data_root,
            trigger_reason=reason,
            run_id=run_id,
        )
    except Exception as error:
        log.exception("run %s failed", run_id)
        result = TrainResult(run_id, args.model, "failed", "error", f"{type(error).__name__}: {error}", reason)
    if args.result:
        result.write(Path(args.result))
    report_url = os.environ.get(RESULT_URL_ENV)
    if report_url:
        _report(report_url, result, log)
    log.info("run %s: %s (%s)", run_id, result.outcome, result.reason)
    return 0 if result.status == "succeeded" else 1


def _report(url: str, result: Any, log: logging.Logger) -> None:
    """Tell the retraining trigger how the run ended (on Kubernetes it may not read Jobs itself)."""
    from dataclasses import asdict

    import httpx

    try:
        response = httpx.post(url, json=asdict(result), headers={"Authorization": f"Bearer {_secret()}"}, timeout=30)
        response.raise_for_status()
    except (httpx.HTTPError, SpecError) as error:
        log.error("could not report the result to %s: %s", url, error)


def features(args: argparse.Namespace) -> int:
    """Feast for the platform: apply the definitions, materialize online views, or run the feature server."""
    from datetime import UTC, datetime

    from mlops_dsl.runtime.features import store_for

    spec = load_for_service(args.spec, args.env)
    _logging(args.verbose)
    paths = _paths(args, spec)
    store = store_for(spec, paths.feature_repo, paths.data_root)
    log = logging.getLogger("mlops.features")
    if args.action == "apply":
        log.info(
            "applied %d feature views of project %s", len(spec.platform.feature_store.feature_views), spec.platform.feature_store.project
        )
    elif args.action == "materialize":
        store.materialize_incremental(end_date=datetime.now(UTC))
        log.info("materialized online views up to now")
    else:
        from feast.feature_server import get_app

        _uvicorn(get_app(store), args.host, args.port)
    return 0


def batch(args: argparse.Namespace) -> int:
    """Score a whole input data set with the production version and write the predictions."""
    from mlops_dsl.runtime import batch as scoring

    spec = load_for_service(args.spec, args.env)
    model, source, target = scoring.batch_job(spec, args.model, args.input, args.output)
    _logging(args.verbose)
    scoring.score(model, source, target, _paths(args, spec))
    return 0
