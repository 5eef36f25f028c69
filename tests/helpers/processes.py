"""Start real processes (our services, Prometheus, Alertmanager) on 127.0.0.1 and stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Process:
    """A child process with its output in a log file; stopped (and its group killed) on exit."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.args = list(args)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.args,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = 60.0, status: int = 200) -> None:
        """Wait until ``url`` answers with ``status``; fail early if the process died."""

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.args[0]} exited ({self.popen.returncode}):\n{self.output()[-3000:]}")
            return httpx.get(url, timeout=2).status_code == status

        wait_until(ready, timeout, url)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._handle.close()


def mlops(*args: str) -> list[str]:
    """The command line of ``mlops ARGS`` in this interpreter."""
    return [sys.executable, "-m", "mlops_dsl", *args]
