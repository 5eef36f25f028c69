"""The retraining trigger service: decide on every alert, schedule tick and data arrival; start runs.

Alertmanager posts its webhook notifications to ``/alerts``; a background loop
checks schedules and new data, and follows running runs to their end. Every
decision is recorded with its reason, and exported as a metric.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from croniter import CroniterError, croniter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlops_dsl.contracts.retraining import MANUAL, SCHEDULE, Backend, Cause, Event, Limits, RunRequest, decide
from mlops_dsl.runtime.bodies import BodyTooLargeError, read_body
from mlops_dsl.runtime.retraining.alertmanager import Notification, PayloadError, authenticated, parse
from mlops_dsl.runtime.retraining.api import MAX_BODY_BYTES, ManualRun, RunReport, parse_body
from mlops_dsl.runtime.retraining.store import Run, TriggerStore
from mlops_dsl.runtime.state import source_files  # not mlops_dsl.runtime.features: importing Feast takes seconds of CPU, holding the GIL
from mlops_dsl.spec.platform import Platform
from mlops_dsl.spec.retraining import OnAlert, OnNewData, OnSchedule

log = logging.getLogger("mlops.trigger")
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class RetrainingTrigger:
    """Turns events into decisions and decisions into runs, within each model's limits."""

    def __init__(
        self,
        platform: Platform,
        store: TriggerStore,
        backend: Backend,
        *,
        registry: CollectorRegistry | None = None,
        clock: Clock = _now,
        data_root: Path | None = None,
    ) -> None:
        self.platform = platform
        self.store = store
        self.backend = backend
        self.clock = clock
        self.data_root = data_root
        self.registry = registry or CollectorRegistry()
        self.decided = Counter("mlops_retraining_decisions", "Retraining decisions, by kind.", ["model", "kind"], registry=self.registry)
        self.active = Gauge("mlops_retraining_runs_active", "Retraining runs going now.", ["model"], registry=self.registry)
        self.finished = Counter(
            "mlops_retraining_runs_finished", "Retraining runs that ended, by state.", ["model", "state"], registry=self.registry
        )
        for model in platform.models:
            self.active.labels(model.name).set(len(store.runs(model.name, active_only=True)))
        self._lock = threading.Lock()

    # --- deciding --------------------------------------------------------------------

    def handle(self, event: Event) -> dict[str, Any]:
        """Decide on one event (and start the run if the decision is to start)."""
        model = self.platform.model(event.model)
        limits = Limits.of(model.retraining)
        run: Run | None = None
        with self._lock, self.store.transaction() as tx:
            history = tx.history(event)
            external = self.backend.active(event.model)
            if external is not None and external > history.running:
                history = type(history)(history.last_seen, history.last_started, external)
            decision = decide(event, limits, history)
            if decision.action == "start":
                run = Run(
                    id=f"{event.model}-{event.at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
                    model=event.model,
                    trigger=str(event.trigger),
                    reason=event.reason,
                    status="starting",
                    started_at=event.at,
                )
                tx.add_run(run)
            tx.record(event, decision, run.id if run else None)
        self.decided.labels(event.model, decision.kind).inc()
        log.info("%s: %s", event.model, decision.reason)
        if run is not None:
            self._start(run)
        return {
            "model": event.model,
            "trigger": str(event.trigger),
            "action": decision.action,
            "kind": decision.kind,
            "reason": decision.reason,
            "run_id": run.id if run else None,
        }

    def _start(self, run: Run) -> None:
        try:
            reference = self.backend.start(RunRequest(run.id, run.model, run.reason))
        except Exception as error:
            log.exception("could not start run %s", run.id)
            self.store.update_run(run.id, status="failed", outcome="error", detail=f"could not start: {error}", finished_at=self.clock())
            self.finished.labels(run.model, "failed").inc()
            return
        self.store.update_run(run.id, status="running", backend_ref=reference)
        self.active.labels(run.model).inc()

    def _ignore(self, model: str, trigger: Cause, kind: Literal["ignored"], reason: str) -> dict[str, Any]:
        log.info("%s: %s", model or "-", reason)
        self.decided.labels(model or "-", kind).inc()
        return {"model": model, "trigger": str(trigger), "action": "skip", "kind": kind, "reason": reason, "run_id": None}

    def handle_notification(self, notification: Notification) -> list[dict[str, Any]]:
        """Decide on every alert of an Alertmanager notification."""
        decisions = []
        models = {m.name: m for m in self.platform.models}
        for alert in notification.alerts:
            name = alert.labels["alertname"]
            model_name = alert.labels.get("model", "")
            trigger = Cause.alert(name)
            if alert.status != "firing":
                decisions.append(self._ignore(model_name, trigger, "ignored", f"ignored: alert {name} is resolved"))
                continue
            model = models.get(model_name)
            if model is None:
                known = ", ".join(sorted(models))
                decisions.append(
                    self._ignore(
                        model_name, trigger, "ignored", f"ignored: alert {name} has model label {model_name!r}; this platform has {known}"
                    )
                )
                continue
            if not any(isinstance(t, OnAlert) and t.alert == name for t in model.retraining.triggers):
                decisions.append(
                    self._ignore(model_name, trigger, "ignored", f"ignored: alert {name} is not a retraining trigger of model {model_name}")
                )
                continue
            detail = f"fired {alert.startsAt.isoformat()}"
            decisions.append(self.handle(Event(model_name, trigger, self.clock(), detail)))
        return decisions

    # --- following runs, schedules and new data -----------------------------------

    def reconcile(self) -> list[str]:
        """Ask the backend how active runs are going; record the ones that ended or timed out."""
        changes = []
        now = self.clock()
        for run in self.store.runs(active_only=True):
            timeout = self.platform.model(run.model).training.timeout if run.model in {m.name for m in self.platform.models} else None
            if run.backend_ref is None:
                if timeout is not None and now - run.started_at > timeout:
                    self.store.update_run(run.id, status="failed", outcome="error", detail="never confirmed as started", finished_at=now)
                continue
            state = self.backend.status(run.id, run.backend_ref)
            if state.state == "running":
                if timeout is not None and now - run.started_at > timeout:
                    self.store.update_run(
                        run.id, status="failed", outcome="timeout", detail=f"still running after the {timeout} timeout", finished_at=now
                    )
                    self._ended(run, "failed")
                    changes.append(f"{run.id}: timed out")
                continue
            self.store.update_run(
                run.id, status=state.state, outcome=state.outcome, version=state.version, detail=state.detail, finished_at=now
            )
            self._ended(run, state.state)
            changes.append(f"{run.id}: {state.state} ({state.outcome})")
        return changes

    def report(self, run_id: str, result: dict[str, Any]) -> bool:
        """Record a result a run reports itself (Kubernetes Jobs, which the trigger may not read)."""
        run = next((r for r in self.store.runs() if r.id == run_id), None)
        if run is None or run.status not in ("starting", "running"):
            return False
        state = "succeeded" if result.get("status") == "succeeded" else "failed"
        self.store.update_run(
            run_id,
            status=state,
            outcome=str(result.get("outcome") or ""),
            version=result.get("version"),
            detail=str(result.get("reason") or ""),
            finished_at=self.clock(),
        )
        self._ended(run, state)
        return True

    def _ended(self, run: Run, state: str) -> None:
        self.finished.labels(run.model, state).inc()
        self.active.labels(run.model).set(len(self.store.runs(run.model, active_only=True)))

    def check_schedules(self) -> list[dict[str, Any]]:
        """Fire schedule triggers (and each model's training schedule) that are due."""
        decisions = []
        now = self.clock()
        for model in self.platform.models:
            crons = [t.cron for t in model.retraining.triggers if isinstance(t, OnSchedule)]
            if model.training.schedule:
                crons.append(model.training.schedule)
            for cron in crons:
                key = f"schedule:{model.name}:{cron}"
                last = self.store.mark(key)
                if last is None:
                    self.store.set_mark(key, now.isoformat())
                    continue
                due = next_fire(cron, last)
                if due is None:
                    continue  # logged; the other schedules still run
                if due <= now:
                    self.store.set_mark(key, now.isoformat())
                    decisions.append(self.handle(Event(model.name, SCHEDULE, now, cron, occurrence=due.isoformat())))
        return decisions

    def check_new_data(self) -> list[dict[str, Any]]:
        """Fire new-data triggers whose source has enough rows in files not trained on yet."""
        if self.data_root is None:
            return []
        decisions = []
        sources = {s.name: s for s in self.platform.feature_store.sources}
        for model in self.platform.models:
            for trigger in model.retraining.triggers:
                if not isinstance(trigger, OnNewData):
                    continue
                paths = {p.name: p for p in source_files(sources[trigger.source], self.data_root)}
                files = sorted(paths)
                key = f"new_data:{model.name}:{trigger.source}"
                seen = set(json.loads(self.store.mark(key) or "null") or [])
                if not seen and self.store.mark(key) is None:
                    self.store.set_mark(key, json.dumps(files))  # the data present at start is not new
                    continue
                fresh = [name for name in files if name not in seen]
                if not fresh:
                    continue
                rows = _rows([paths[name] for name in fresh])
                if rows < trigger.min_new_rows:
                    continue
                event = Event(
                    model.name,
                    Cause.new_data(trigger.source),
                    self.clock(),
                    f"{rows} new rows in {len(fresh)} file(s)",
                    occurrence=fresh[-1],
                )
                decision = self.handle(event)
                decisions.append(decision)
                if decision["action"] == "start":
                    self.store.set_mark(key, json.dumps(files))
        return decisions

    def tick(self) -> None:
        """One round of the background loop."""
        for change in self.reconcile():
            log.info(change)
        self.check_schedules()
        self.check_new_data()


def next_fire(cron: str, last: str) -> datetime | None:
    """When ``cron`` next fires after the time ``last`` (ISO 8601); None, logged, if it cannot be computed.

    The spec refuses crons that never fire, but a state file or an older spec
    may still hold one; croniter raises for it (CroniterBadDateError), and that
    must not end the round for every other schedule.
    """
    try:
        return croniter(cron, datetime.fromisoformat(last)).get_next(datetime)
    except (CroniterError, ValueError, OverflowError) as error:
        log.warning("schedule %r is skipped: %s", cron, error)
        return None


def _rows(files: list[Path]) -> int:
    """The data rows of new files: a Parquet file's from its footer, a CSV file's records less its header."""
    total = 0
    for path in files:
        try:
            stat = path.stat()
            total += _file_rows(str(path), stat.st_size, stat.st_mtime_ns)
        except (OSError, ValueError):
            continue  # a file still being written is counted next time
    return total


@functools.lru_cache(maxsize=4096)
def _file_rows(path: str, size: int, mtime_ns: int) -> int:
    """One file's rows, remembered by its size and modification time: new files are counted every round until a run takes
    them, and counting a CSV file means reading all of it."""
    import pyarrow.parquet as pq

    from mlops_dsl.aws.parquet_rows import csv_rows  # the trigger function's count, so both targets count alike

    if path.endswith(".csv"):
        with open(path, "rb") as stream:
            return csv_rows(stream)
    return int(pq.ParquetFile(path).metadata.num_rows)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_app(
    trigger: RetrainingTrigger,
    *,
    auth: Literal["bearer", "hmac"],
    secret: str,
    interval: float = 5.0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The trigger's HTTP application: Alertmanager's webhook, manual runs, state, metrics."""
    if not secret:
        raise ValueError("the retraining trigger needs a webhook secret")
    stop = threading.Event()

    def denied(request: Request, body: bytes) -> Response | None:
        if authenticated(auth, secret, {k.lower(): v for k, v in request.headers.items()}, body):
            return None
        what = "bearer token" if auth == "bearer" else "X-Signature (HMAC-SHA256 of the body)"
        return _json({"error": f"missing or invalid {what}"}, 401)

    async def authenticated_body(request: Request) -> bytes | Response:
        """The body, or the answer: 413 past the limit (read no further, whoever sends it), then 401."""
        try:
            body = await read_body(request, max_body_bytes)
        except BodyTooLargeError as error:
            return _json({"error": str(error)}, error.status)
        return denied(request, body) or body

    async def alerts(request: Request) -> Response:
        body = await authenticated_body(request)
        if isinstance(body, Response):
            return body
        try:
            notification = parse(body)
        except PayloadError as error:
            log.warning("rejected a notification: %s", error)
            return _json({"error": str(error)}, 400)
        decisions = await run_in_threadpool(trigger.handle_notification, notification)
        return _json({"decisions": decisions})

    async def manual(request: Request) -> Response:
        body = await authenticated_body(request)
        if isinstance(body, Response):
            return body
        wanted = parse_body(body, ManualRun, '{"model": NAME, "reason": TEXT}')
        if isinstance(wanted, str):
            return _json({"error": wanted}, 400)
        if wanted.model not in {m.name for m in trigger.platform.models}:
            return _json({"error": f"unknown model {wanted.model!r}"}, 404)
        now = trigger.clock()
        event = Event(wanted.model, MANUAL, now, wanted.reason or "manual", occurrence=uuid.uuid4().hex)
        return _json(await run_in_threadpool(trigger.handle, event))

    async def report(request: Request) -> Response:
        body = await authenticated_body(request)
        if isinstance(body, Response):
            return body
        result = parse_body(body, RunReport, "the run's result, with a status of 'succeeded' or 'failed'")
        if isinstance(result, str):
            return _json({"error": result}, 400)
        recorded = await run_in_threadpool(trigger.report, request.path_params["run_id"], result.model_dump())
        return _json({"recorded": recorded}, 200 if recorded else 404)

    async def runs(request: Request) -> Response:
        refusal = denied(request, b"")  # reads are authenticated too (HMAC: of the empty body)
        if refusal is not None:
            return refusal
        model = request.query_params.get("model")
        return _json({"runs": [run.as_dict() for run in trigger.store.runs(model)]})

    async def decisions(request: Request) -> Response:
        refusal = denied(request, b"")
        if refusal is not None:
            return refusal
        return _json({"decisions": trigger.store.decisions()})

    async def health(request: Request) -> Response:
        return _json({"ok": True})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(trigger.registry), media_type=CONTENT_TYPE_LATEST)

    def loop() -> None:
        while not stop.wait(interval):
            try:
                trigger.tick()
            except Exception:
                log.exception("a background round failed")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(trigger.reconcile)  # a restart first learns how its runs went
        thread = threading.Thread(target=loop, name="mlops-trigger-loop", daemon=True)
        thread.start()
        yield
        stop.set()
        thread.join(timeout=5)

    return Starlette(
        routes=[
            Route("/alerts", alerts, methods=["POST"]),
            Route("/runs", manual, methods=["POST"]),
            Route("/runs", runs, methods=["GET"]),
            Route("/runs/{run_id}/result", report, methods=["POST"]),
            Route("/decisions", decisions, methods=["GET"]),
            Route("/healthz", health),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
