"""The local platform's layout: its services, their ports and command lines, and its files.

Every service listens on the target's host (``LocalTarget.host``, 127.0.0.1 by
default) at a fixed offset from ``LocalTarget.base_port``; a model marked
``serving.public`` makes the model server listen on every interface instead.
The services read the resolved spec that ``mlops up`` writes into the state
directory, so what runs is what was validated, even if the spec file changes.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlops_dsl.contracts.environment import CODE_DIR_ENV, WEBHOOK_SECRET_FILE_ENV
from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.runtime.state import StatePaths
from mlops_dsl.spec.environment import LocalTarget
from mlops_dsl.spec.problems import Problem, SpecError

# Port offsets from LocalTarget.base_port.
OFFSETS = {"model-server": 0, "drift-monitor": 1, "retraining-trigger": 2, "prometheus": 10, "alertmanager": 11}
# Each needs only those before it: Prometheus alerts through Alertmanager, the drift monitor reads Prometheus.
START_ORDER = ["model-server", "retraining-trigger", "alertmanager", "prometheus", "drift-monitor"]
BINARIES = {"prometheus": ("prometheus",), "alertmanager": ("prometheus-alertmanager", "alertmanager")}
PACKAGES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}
SCRAPE_INTERVAL = "5s"
# Where a person starts with each service (the trigger's API needs the webhook token).
LINKS = {"model-server": "/v2", "retraining-trigger": "", "alertmanager": "", "prometheus": "", "drift-monitor": "/drift"}


@dataclass(frozen=True)
class Service:
    """One process of the platform."""

    name: str
    port: int
    command: list[str]
    health: str
    """The URL that answers 200 once the service is ready."""
    url: str
    """Where a person (or a client) reaches it."""
    env: dict[str, str] = field(default_factory=dict)


def python_command() -> list[str]:
    """``python -P -m mlops_dsl``: ``-P`` keeps the working directory off ``sys.path``, so a file there named
    like a standard-library module (a spec called platform.py) is never imported in its place."""
    return [sys.executable, "-P", "-m", "mlops_dsl"]


def secret_env_name(secret: str) -> str:
    """The environment variable a local secret comes from: ``slackWebhookUrl`` -> ``SLACK_WEBHOOK_URL``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", secret).replace("-", "_").replace(".", "_").upper()


def find_binary(name: str) -> str:
    """The path of Prometheus or Alertmanager, or a one-line error saying how to install it."""
    for candidate in BINARIES[name]:
        found = shutil.which(candidate)
        if found:
            return found
    names = " or ".join(BINARIES[name])
    raise SpecError(
        [
            Problem(
                "",
                f"{names} is not installed; the local target runs it as a process "
                f"(install the Debian package {PACKAGES[name]}: `make run` does, or `sudo apt-get install {PACKAGES[name]}`)",
                source="mlops up",
            )
        ]
    )


def check_database(path: Path, what: str) -> None:
    """Refuse a state database that SQLite cannot read, naming it; the file is left as it is (opened read-only)."""
    if not path.exists():
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        verdict = str(error)
    if verdict != "ok":
        raise SpecError(
            [Problem("", f"{what} is corrupt ({verdict}); move it aside to start afresh (nothing was changed)", source=str(path))]
        )


@dataclass(frozen=True)
class LocalPlatform:
    """A platform environment on the local target, and where everything of it lives."""

    spec: ResolvedSpec
    paths: StatePaths

    @property
    def target(self) -> LocalTarget:
        target = self.spec.target
        if not isinstance(target, LocalTarget):
            raise TypeError("not a local environment")
        return target

    @property
    def spec_file(self) -> Path:
        """The resolved spec every service reads."""
        return self.paths.root / "platform.json"

    @property
    def config_dir(self) -> Path:
        return self.paths.root / "config"

    @property
    def secrets_dir(self) -> Path:
        return self.paths.root / "secrets"

    @property
    def code_dir(self) -> Path:
        """The snapshot of the team's code (``Platform.code``) every run and service imports from."""
        return self.paths.root / "code"

    def runtime_env(self) -> dict[str, str]:
        """The environment every runtime process of the platform gets (the trigger passes it on to its runs)."""
        return {CODE_DIR_ENV: str(self.code_dir)} if self.spec.platform.code is not None else {}

    @property
    def logs_dir(self) -> Path:
        return self.paths.root / "logs"

    @property
    def token_file(self) -> Path:
        """The retraining webhook's bearer token, generated on the first ``mlops up``."""
        return self.secrets_dir / "retraining-webhook-token"

    @property
    def registry_db(self) -> Path:
        """The model registry's SQLite database (MLflow's tables)."""
        return self.paths.root / "registry" / "mlflow.db"

    def port(self, service: str) -> int:
        return self.target.base_port + OFFSETS[service]

    def url(self, service: str) -> str:
        return f"http://{self.target.host}:{self.port(service)}"

    def link(self, service: str) -> str:
        """The service's URL to show people."""
        return self.url(service) + LINKS[service]

    def services(self) -> list[Service]:
        """Every process, in the order they start (each only needs those before it)."""
        host = self.target.host
        server_host = "0.0.0.0" if any(m.serving.public for m in self.spec.platform.models) else host
        common = ["--spec", str(self.spec_file), "--env", self.spec.environment, "--state-dir", str(self.paths.root)]
        mlops = python_command()
        prometheus, alertmanager = self.url("prometheus"), self.url("alertmanager")
        server = self.url("model-server")
        return [
            Service(
                "model-server",
                self.port("model-server"),
                [*mlops, "serve", *common, "--host", server_host, "--port", str(self.port("model-server")), "--poll-interval", "1"],
                f"{server}/v2/health/ready",
                self.link("model-server"),
                env=self.runtime_env(),
            ),
            Service(
                "retraining-trigger",
                self.port("retraining-trigger"),
                [*mlops, "trigger", *common, "--host", host, "--port", str(self.port("retraining-trigger")), "--interval", "2"],
                f"{self.url('retraining-trigger')}/healthz",
                self.link("retraining-trigger"),
                env={**self.runtime_env(), WEBHOOK_SECRET_FILE_ENV: str(self.token_file)},
            ),
            Service(
                "alertmanager",
                self.port("alertmanager"),
                [
                    find_binary("alertmanager"),
                    f"--config.file={self.config_dir / 'alertmanager.yml'}",
                    f"--storage.path={self.paths.root / 'alertmanager'}",
                    f"--web.listen-address={host}:{self.port('alertmanager')}",
                    f"--web.external-url={alertmanager}",
                    "--cluster.listen-address=",  # one instance: no gossip port
                ],
                f"{alertmanager}/-/ready",
                self.link("alertmanager"),
            ),
            Service(
                "prometheus",
                self.port("prometheus"),
                [
                    find_binary("prometheus"),
                    f"--config.file={self.config_dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.paths.root / 'prometheus'}",
                    "--storage.tsdb.retention.time=7d",
                    f"--web.listen-address={host}:{self.port('prometheus')}",
                    f"--web.external-url={prometheus}",
                ],
                f"{prometheus}/-/ready",
                self.link("prometheus"),
            ),
            Service(
                "drift-monitor",
                self.port("drift-monitor"),
                [
                    *mlops,
                    "monitor",
                    *common,
                    "--host",
                    host,
                    "--port",
                    str(self.port("drift-monitor")),
                    "--prometheus-url",
                    prometheus,
                    "--interval",
                    "2",  # drift scores every 2s: the alert's own `for` is where patience belongs
                ],
                f"{self.url('drift-monitor')}/healthz",
                self.link("drift-monitor"),
                env=self.runtime_env(),
            ),
        ]
