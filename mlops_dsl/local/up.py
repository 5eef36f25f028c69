"""``mlops up`` and ``mlops down``: the whole platform on one machine, and back.

``up`` checks what it needs before it changes anything (Prometheus and
Alertmanager installed, the ports free, the state files readable), then:
writes the resolved spec and the Prometheus and Alertmanager configuration;
seeds example data if the sources are empty; applies the Feast feature store
and materializes its online views; trains each model that has no version in
production yet; starts the model server, the retraining trigger,
Alertmanager, Prometheus and the drift monitor, waiting for each to be ready;
and prints their URLs. Run again, it resumes from the state directory:
services already running are left alone, models already in production are
not retrained.

``down`` stops every process ``up`` started and keeps the state directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_dsl.contracts.code import code_files
from mlops_dsl.loading.loader import ResolvedSpec, load_platform, resolved_json
from mlops_dsl.local.configs import render
from mlops_dsl.local.layout import OFFSETS, START_ORDER, LocalPlatform, Service, check_database, python_command
from mlops_dsl.local.processes import Processes, ServiceFailedError, port_in_use
from mlops_dsl.local.status import headline
from mlops_dsl.runtime.code import git_commit, snapshot
from mlops_dsl.runtime.retraining.backends import last_line
from mlops_dsl.runtime.state import StatePaths, default_state_dir
from mlops_dsl.spec.environment import LocalTarget
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed, one_of

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "examples" / "churn" / "platform.py"
READY_TIMEOUT = {"model-server": 180.0, "drift-monitor": 180.0, "retraining-trigger": 180.0}
Say = Callable[[str], None]


class UpFailedError(Exception):
    """A step of ``mlops up`` failed for a reason that is not the user's input (a training run, a service)."""


def _problem(field: str, message: str) -> SpecError:
    return SpecError([Problem(field, message, source="mlops up")])


def resolve(spec_file: str | None, environment: str | None, state_dir: str | None) -> LocalPlatform:
    """The local environment to bring up: the spec (default: the churn example), one of its local environments."""
    path = Path(spec_file) if spec_file else DEFAULT_SPEC
    if spec_file is None and not path.exists():
        raise _problem("SPEC_FILE", got_allowed(None, "a platform spec file (the churn example is not installed here)"))
    resolved = load_platform(path, environment=environment)
    local = {name: spec for name, spec in resolved.items() if isinstance(spec.target, LocalTarget)}
    if environment is not None:
        spec = resolved[environment]
        if not isinstance(spec.target, LocalTarget):
            allowed = f"a local environment of the spec: {one_of(set(local))}" if local else "a local environment (the spec declares none)"
            raise _problem("--env", got_allowed(environment, allowed, f"it targets {spec.target.kind}; deploy it with `pulumi up`"))
    elif len(local) == 1:
        spec = next(iter(local.values()))
    elif not local:
        raise _problem("--env", got_allowed(None, "a local environment; the spec declares none (add one with target=LocalTarget())"))
    else:
        raise _problem("--env", got_allowed(None, f"one of the spec's local environments: {one_of(set(local))}"))
    return LocalPlatform(spec, StatePaths(_state_root(state_dir, spec)))


def _state_root(state_dir: str | None, spec: ResolvedSpec) -> Path:
    """The state directory, resolved; one that is a file (or lies under one) is refused before anything writes there."""
    root = Path(state_dir) if state_dir else default_state_dir(spec)
    origin = "--state-dir" if state_dir else f"environments.{spec.environment}.target.state_dir"
    allowed = "a directory, or a path where one can be made"
    try:
        resolved = root.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError up to Python 3.12)
        raise _problem(origin, got_allowed(str(root), allowed, "it is a symlink loop")) from None
    existing = next(path for path in (resolved, *resolved.parents) if path.exists())
    if not existing.is_dir():
        reason = "it is a file" if existing == resolved else f"{existing} is a file"
        raise _problem(origin, got_allowed(str(root), allowed, reason))
    return resolved


def _check_token(local: LocalPlatform) -> None:
    """Refuse an empty webhook token file: the trigger would refuse it too, but only once data and training are done."""
    try:
        token = local.token_file.read_text().strip()
    except FileNotFoundError:
        return  # made by the first `mlops up`
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise SpecError([Problem("", f"the retraining webhook token cannot be read ({reason})", source=str(local.token_file))]) from None
    if not token:
        secret = local.spec.platform.retraining_webhook.secret
        message = (
            f"the retraining webhook token (secret {secret}) is empty; delete the file "
            "(`mlops up` makes a new token) or write the token in it (nothing was changed)"
        )
        raise SpecError([Problem("", message, source=str(local.token_file))])


def preflight(local: LocalPlatform) -> tuple[list[Service], dict[str, Any]]:
    """What must hold before anything changes: binaries, readable state, free ports. Returns the services and those running."""
    from mlops_dsl.runtime.features import check_registry  # imports Feast, which step 4 needs anyway

    services = local.services()  # finds the Prometheus and Alertmanager binaries, or says how to install them
    processes = Processes(local.paths.root)
    running = processes.running()  # reads the state file, or says it is corrupt
    check_database(local.paths.trigger_db, "the retraining trigger's state")
    check_database(local.registry_db, "the model registry")
    check_database(local.paths.feature_repo / "online.db", "the Feast online store")
    check_registry(local.paths.feature_repo)
    _check_token(local)
    host = local.target.host
    for service in services:
        if service.name in running:
            continue
        if port_in_use(host, service.port):
            first, last = local.target.base_port, local.target.base_port + max(OFFSETS.values())
            raise _problem(
                "base_port",
                f"port {service.port} on {host} (for the {service.name}) is in use by another program; stop it, "
                f"or move the platform's ports with LocalTarget(base_port=...) (now {first}: it uses {first} to {last})",
            )
    return services, running


def copy_code(local: LocalPlatform, say: Say) -> None:
    """Snapshot the team's code into the state directory, where every run and service imports it from."""
    source = local.spec.code_dir
    if source is None:
        return
    commit = git_commit(source)
    digest = snapshot(source, local.code_dir, commit)
    files = len(code_files(local.code_dir))
    at = f" at {commit}" if commit else ""
    say(f"code: {files} files from {local.spec.platform.code}{at} ({digest[:19]}) into {local.code_dir}")


def _data_module(spec: ResolvedSpec) -> Any | None:
    """The ``data.py`` beside the spec file, if it has ``generate(data_root)``."""
    path = Path(spec.source).parent / "data.py"
    if not path.exists():
        return None
    module_spec = importlib.util.spec_from_file_location(f"mlops_example_data_{abs(hash(str(path)))}", path)
    if module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module if hasattr(module, "generate") else None


def seed_data(local: LocalPlatform, say: Say) -> None:
    """Give every empty source its example data (from the spec's data.py), or say which source has none.

    A source is empty when it has no files of its format (``*.parquet``, ``*.csv``) under its path.
    """
    from mlops_dsl.runtime.state import source_files, source_path

    sources = local.spec.platform.feature_store.sources
    empty = [s for s in sources if not source_files(s, local.paths.data_root)]
    if not empty:
        say(f"found data for {len(sources)} sources under {local.paths.data_root}")
        return
    module = _data_module(local.spec)
    if module is None:
        names = ", ".join(f"{s.name} (*.{s.format} in {source_path(s, local.paths.data_root)})" for s in empty)
        raise _problem(
            "data",
            f"no files for source(s) {names}, and no data.py beside the spec to generate them "
            "(see README, Getting your data in; `mlops data check` checks a data folder)",
        )
    rows = module.generate(local.paths.data_root)
    say(f"generated {rows} labelled rows with {Path(module.__file__ or 'data.py').name} into {local.paths.data_root}")


def prepare_features(local: LocalPlatform, say: Say) -> None:
    """Apply the Feast definitions (file offline store, SQLite online store) and materialize the online views."""
    from datetime import UTC, datetime

    from mlops_dsl.runtime.features import local_store

    feature_store = local.spec.platform.feature_store
    local.logs_dir.mkdir(parents=True, exist_ok=True)
    # Feast narrates on standard output; that goes to a log, and the step says what it did.
    with open(local.logs_dir / "features.log", "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = local_store(feature_store, local.paths.feature_repo, local.paths.data_root)
        online = [v.name for v in feature_store.feature_views if v.online]
        if online:
            store.materialize_incremental(end_date=datetime.now(UTC), feature_views=online)
    say(f"applied {len(feature_store.feature_views)} feature views; materialized {len(online)} into the online store")


def first_training(local: LocalPlatform, say: Say) -> None:
    """Train every model that has no version in production (a process each, logged like any run)."""
    from mlops_dsl.runtime.registry import ModelRegistry

    with warnings.catch_warnings():  # MLflow's database layer warns about its own SQLAlchemy use
        warnings.simplefilter("ignore")
        registry = ModelRegistry(local.paths.registry_uri())
        in_production = {model.name: registry.alias_version(model.name, "production") for model in local.spec.platform.models}
    for model in local.spec.platform.models:
        version = in_production[model.name]
        if version is not None:
            say(f"{model.name}: v{version} is in production")
            continue
        started = time.monotonic()
        result_file = local.paths.runs / f"{model.name}-initial" / "result.json"
        log = local.logs_dir / f"train-{model.name}-initial.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            *python_command(), "train", "--spec", str(local.spec_file), "--env", local.spec.environment,
            "--state-dir", str(local.paths.root), "--model", model.name, "--reason", "initial training (mlops up)",
            "--run-id", f"{model.name}-initial", "--result", str(result_file),
        ]  # fmt: skip
        result_file.unlink(missing_ok=True)  # a result left by an earlier `mlops up` is not this run's
        with open(log, "ab") as handle:
            subprocess.run(
                command,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
                cwd=local.paths.root,  # like every run the trigger starts: nothing depends on where `mlops up` ran
                env={**os.environ, **local.runtime_env()},
            )
        try:
            result = json.loads(result_file.read_text())
        except (OSError, ValueError):
            raise UpFailedError(f"the first training of {model.name} failed: {last_line(log)} (see {log})") from None
        if result["outcome"] not in ("promoted", "pending_approval"):
            raise UpFailedError(f"the first training of {model.name} ended {result['outcome']}: {result['reason']} (see {log})")
        shown = headline(result.get("metrics", {}), model.training.gate.metric if model.training.gate else None)
        say(f"{model.name}: v{result['version']} {result['outcome']} ({shown}) in {time.monotonic() - started:.0f}s")


def start_services(local: LocalPlatform, services: list[Service], running: dict[str, Any], say: Say) -> list[str]:
    """Start what is not running, in order, each ready before the next; returns the names started."""
    processes = Processes(local.paths.root)
    started: list[str] = []
    try:
        for service in services:
            if service.name in running:
                say(f"{service.name}: already running (pid {running[service.name].pid})")
                continue
            began = time.monotonic()
            record = processes.start(service, local.logs_dir)
            started.append(service.name)
            processes.wait_ready(service, record, READY_TIMEOUT.get(service.name, 60.0))
            say(f"{service.name}: ready on port {service.port} in {time.monotonic() - began:.1f}s (pid {record.pid})")
    except (ServiceFailedError, KeyboardInterrupt):
        for name in reversed(started):  # leave nothing half up
            processes.stop(name)
        raise
    return started


def up(local: LocalPlatform, say: Say = print) -> dict[str, str]:
    """Bring the platform up; returns the service URLs."""
    total = 6
    began = time.monotonic()

    def step(number: int, title: str) -> None:
        say(f"[{number}/{total}] {title}")

    def detail(text: str) -> None:
        say(f"      {text}")

    step(1, f"Checking {local.spec.platform.name} ({local.spec.environment}) in {local.paths.root}")
    services, running = preflight(local)
    detail(f"prometheus and alertmanager found; {len(running)} of {len(services)} services already running")
    step(2, "Writing the resolved spec and the Prometheus and Alertmanager configuration")
    local.paths.root.mkdir(parents=True, exist_ok=True)
    local.spec_file.write_text(resolved_json(local.spec))
    copy_code(local, detail)
    rendered = render(local)
    detail(f"{len(rendered.files)} files in {local.config_dir}")
    for channel, variable in rendered.skipped_channels.items():
        detail(f"channel {channel}: not notified locally until {variable} is set in the environment")
    step(3, "Loading data")
    seed_data(local, detail)
    step(4, "Preparing the feature store (Feast)")
    prepare_features(local, detail)
    step(5, "Training models without a version in production")
    first_training(local, detail)
    step(6, "Starting services")
    start_services(local, services, running, detail)
    urls = {service.name: service.url for service in services}
    say(f"\n{local.spec.platform.name} ({local.spec.environment}) is up in {time.monotonic() - began:.0f}s:")
    width = max(len(name) for name in urls)
    for name, url in urls.items():
        say(f"  {name:<{width}}  {url}")
    say(f"\nState and logs: {local.paths.root}\nNext: `mlops status`, and `mlops down` to stop (the state stays).")
    return urls


def down(local: LocalPlatform, say: Say = print) -> int:
    """Stop every process ``up`` started, last first; returns how many were running."""
    processes = Processes(local.paths.root)
    recorded = processes.records()
    names = [name for name in reversed(START_ORDER) if name in recorded] + [name for name in recorded if name not in START_ORDER]
    stopped = 0
    for name in names:
        if processes.stop(name):
            stopped += 1
            say(f"stopped {name}")
        else:
            say(f"{name} was not running")
    say(f"{stopped} process(es) stopped; the state stays in {local.paths.root}" if names else f"nothing to stop in {local.paths.root}")
    return stopped
