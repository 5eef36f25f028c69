"""Start, find and stop the local platform's processes.

Each process runs in its own session (so stopping it stops its children, such
as a training run), writes to its own log, and is recorded in
``processes.json`` in the state directory with its pid and command line. A
recorded process counts as running only if that pid still runs that command,
so a reused pid is never mistaken for (or killed as) one of ours.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_dsl.local.layout import Service
from mlops_dsl.spec.problems import Problem, SpecError

STATE_FILE = "processes.json"


class ServiceFailedError(Exception):
    """A service exited or never became ready; the message ends with its log's last lines."""


@dataclass(frozen=True)
class Record:
    """A started process, as recorded in the state file."""

    name: str
    pid: int
    command: list[str]
    port: int
    url: str
    log: str
    started_at: str


def _state_error(path: Path, why: str) -> SpecError:
    return SpecError(
        [Problem("", f"{why}; move it aside to start afresh (nothing else in the state directory is touched)", source=str(path))]
    )


class Processes:
    """The processes recorded in one state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._started: dict[str, subprocess.Popen[bytes]] = {}

    def records(self) -> dict[str, Record]:
        """Every recorded process (running or not); a corrupt state file is a one-line error."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {name: Record(**item) for name, item in data["services"].items()}
        except (ValueError, KeyError, TypeError) as error:
            raise _state_error(self.path, f"the state file is corrupt ({type(error).__name__}: {error})") from None
        except OSError as error:
            raise _state_error(self.path, f"the state file cannot be read ({error.strerror})") from None

    def _save(self, records: dict[str, Record]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"services": {name: asdict(r) for name, r in records.items()}}, indent=2))
        os.replace(partial, self.path)

    def running(self) -> dict[str, Record]:
        """The recorded processes that still run their command."""
        return {name: record for name, record in self.records().items() if is_running(record)}

    def start(self, service: Service, log_dir: Path) -> Record:
        """Start a service in its own session, logging to ``<log_dir>/<name>.log``, and record it."""
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{service.name}.log"
        with open(log, "ab") as handle:
            handle.write(f"\n--- {datetime.now(UTC).isoformat()} mlops up starts {service.name}\n".encode())
            handle.flush()
            process = subprocess.Popen(
                service.command,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, **service.env},
                cwd=self.root,
                start_new_session=True,
            )
        self._started[service.name] = process
        record = Record(service.name, process.pid, service.command, service.port, service.url, str(log), datetime.now(UTC).isoformat())
        records = self.records()
        records[service.name] = record
        self._save(records)
        return record

    def wait_ready(self, service: Service, record: Record, timeout: float) -> None:
        """Wait until the service's health URL answers 200; fail with its log if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A child just forked shows its parent's command line until it execs: ask the child itself.
            child = self._started.get(service.name)
            exited = child.poll() is not None if child is not None else not is_running(record)
            if exited:
                raise ServiceFailedError(f"{service.name} exited while starting; the end of {record.log}:\n{tail(Path(record.log))}")
            # Not answering yet, or answering garbage: on a port in the ephemeral range a probe of a
            # port nobody listens on yet can connect to itself and read its own request back.
            with (
                contextlib.suppress(urllib.error.URLError, OSError, http.client.HTTPException),
                urllib.request.urlopen(service.health, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.25)
        raise ServiceFailedError(
            f"{service.name} did not become ready in {timeout:.0f}s; the end of {record.log}:\n{tail(Path(record.log))}"
        )

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """Stop a recorded process (and its session); True if it was running."""
        records = self.records()
        record = records.get(name)
        was_running = record is not None and is_running(record)
        if record is not None and was_running:
            terminate(record.pid, timeout)
        if record is not None:
            del records[name]
            self._save(records)
        return was_running


def is_running(record: Record) -> bool:
    """Whether the recorded pid is alive and still runs the recorded command."""
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not ours
    cmdline = Path(f"/proc/{record.pid}/cmdline")
    try:
        running = cmdline.read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid
    if _zombie(record.pid):
        return False
    return [part.decode(errors="replace") for part in running if part][: len(record.command)] == record.command


def _zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] == "Z"


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not ended in ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _zombie(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def describe(records: dict[str, Record]) -> list[dict[str, Any]]:
    """JSON-ready records with whether each still runs."""
    return [{**asdict(record), "running": is_running(record)} for record in records.values()]
