"""The local target without its services running: layout, rendered configuration, and `mlops up/status/down` errors.

The configuration Prometheus and Alertmanager get is checked by their own
tools (promtool, amtool). Every user mistake gets one line and exit code 2,
and leaves the state directory as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_dsl.local.configs import render
from mlops_dsl.local.layout import OFFSETS, START_ORDER, secret_env_name
from mlops_dsl.local.up import resolve
from tests.helpers.local import copy_example, free_base_port, mlops

PROMTOOL = shutil.which("promtool") or "promtool"
AMTOOL = shutil.which("amtool") or "amtool"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example", base_port=free_base_port())


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line of a refused command (exit code 2, no traceback)."""
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_default_spec_is_the_churn_example_on_its_local_environment() -> None:
    local = resolve(None, None, None)
    assert local.spec.platform.name == "churn" and local.spec.environment == "local"
    assert local.paths.root.name == "churn-local"
    names = [service.name for service in local.services()]
    assert names == START_ORDER
    ports = {service.name: service.port for service in local.services()}
    assert ports == {name: local.target.base_port + OFFSETS[name] for name in names}
    assert len(set(ports.values())) == len(ports)


def test_secret_environment_variable_names() -> None:
    assert secret_env_name("slackWebhookUrl") == "SLACK_WEBHOOK_URL"
    assert secret_env_name("pagerduty-key") == "PAGERDUTY_KEY"


def test_rendered_configuration_passes_promtool_and_amtool(example: Path, tmp_path: Path) -> None:
    local = resolve(str(example), None, str(tmp_path / "state"))
    rendered = render(local, environ={"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x"})
    assert {p.name for p in rendered.files} >= {"prometheus.yml", "rules.yml", "alertmanager.yml"}
    assert rendered.skipped_channels == {}
    config = local.config_dir
    checked = subprocess.run([PROMTOOL, "check", "config", str(config / "prometheus.yml")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 rules found" in checked.stdout or "SUCCESS" in checked.stdout
    rules = subprocess.run([PROMTOOL, "check", "rules", str(config / "rules.yml")], capture_output=True, text=True, check=False)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    routes = subprocess.run([AMTOOL, "check-config", str(config / "alertmanager.yml")], capture_output=True, text=True, check=False)
    assert routes.returncode == 0, routes.stdout + routes.stderr

    # Prometheus scrapes the three services on their ports and alerts through the local Alertmanager.
    prometheus = yaml.safe_load((config / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    assert {f"127.0.0.1:{local.port(name)}" for name in ("model-server", "drift-monitor", "retraining-trigger")} <= targets
    alerting = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alerting == [f"127.0.0.1:{local.port('alertmanager')}"]
    # Alertmanager sends retraining alerts to the trigger with the bearer token from a private file, never inline.
    alertmanager_text = (config / "alertmanager.yml").read_text()
    token = local.token_file.read_text().strip()
    assert token and token not in alertmanager_text
    assert "hooks.slack.com" not in alertmanager_text
    assert local.token_file.stat().st_mode & 0o077 == 0
    receivers = yaml.safe_load(alertmanager_text)["receivers"]
    webhooks = [hook["url"] for r in receivers for hook in r.get("webhook_configs", [])]
    assert any(url.startswith(local.url("retraining-trigger")) for url in webhooks), webhooks


def test_a_channel_without_its_secret_is_left_out_and_said(example: Path, tmp_path: Path) -> None:
    local = resolve(str(example), None, str(tmp_path / "state"))
    rendered = render(local, environ={})
    assert rendered.skipped_channels == {"ml-oncall": "SLACK_WEBHOOK_URL"}
    receivers = yaml.safe_load((local.config_dir / "alertmanager.yml").read_text())["receivers"]
    assert "ml-oncall" not in {r["name"] for r in receivers}
    checked = subprocess.run(
        [AMTOOL, "check-config", str(local.config_dir / "alertmanager.yml")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_up_refuses_an_environment_that_is_not_local(example: Path, tmp_path: Path) -> None:
    line = one_line_error(mlops("up", example, "--env", "prod", cwd=tmp_path))
    assert "--env" in line and "prod" in line and "local" in line


def test_up_refuses_an_unknown_environment(example: Path, tmp_path: Path) -> None:
    line = one_line_error(mlops("up", example, "--env", "qa", cwd=tmp_path))
    assert "qa" in line


def test_up_refuses_a_spec_without_a_local_environment(tmp_path: Path) -> None:
    spec = copy_example(tmp_path / "example", base_port=free_base_port())
    text = spec.read_text()
    start, end = text.index("        # One machine"), text.index('        "dev": Environment(')
    spec.write_text(text[:start] + text[end:])
    line = one_line_error(mlops("up", spec, cwd=tmp_path))
    assert "local environment" in line


def test_up_refuses_ports_in_use_and_changes_nothing(example: Path, tmp_path: Path) -> None:
    local = resolve(str(example), None, str(tmp_path / "state"))
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may still hold closed connections
        squatter.bind(("127.0.0.1", local.port("prometheus")))
        squatter.listen()
        line = one_line_error(mlops("up", example, "--state-dir", tmp_path / "state", cwd=tmp_path))
    assert str(local.port("prometheus")) in line and "in use" in line and "base_port" in line
    assert not (tmp_path / "state").exists(), "a refused `mlops up` wrote state"


def test_up_says_how_to_install_a_missing_binary(example: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "mlops_dsl", "up", str(example), "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        check=False,
    )
    line = one_line_error(result)
    assert "not installed" in line and "apt-get install" in line


def test_up_refuses_a_corrupt_process_state_file(example: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "processes.json").write_text("{not json")
    line = one_line_error(mlops("up", example, "--state-dir", state, cwd=tmp_path))
    assert "processes.json" in line and "corrupt" in line
    assert (state / "processes.json").read_text() == "{not json", "the corrupt file was changed"
    for command in ("status", "down"):
        assert "corrupt" in one_line_error(mlops(command, example, "--state-dir", state, cwd=tmp_path))


def test_up_refuses_a_corrupt_trigger_database(example: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    garbage = b"SQLite format 3\x00" + os.urandom(4096)
    (state / "trigger.db").write_bytes(garbage)
    line = one_line_error(mlops("up", example, "--state-dir", state, cwd=tmp_path))
    assert "trigger.db" in line and "corrupt" in line
    assert (state / "trigger.db").read_bytes() == garbage


def test_up_accepts_a_healthy_trigger_database(example: Path, tmp_path: Path) -> None:
    from mlops_dsl.local.layout import check_database

    path = tmp_path / "trigger.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    check_database(path, "the trigger's state")  # no error


def test_status_and_down_before_any_up(example: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    status = mlops("status", example, "--state-dir", state, "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert set(data["services"]) == set(START_ORDER)
    assert data["services"]["model-server"].startswith("http://127.0.0.1:")
    churn = data["models"]["churn"]
    assert churn["serving_version"] is None and churn["versions"] == [] and churn["retraining_runs"] == []
    assert data["alerts"] == []
    text = mlops("status", example, "--state-dir", state, cwd=tmp_path)
    assert text.returncode == 0 and "stopped" in text.stdout and "Model churn" in text.stdout
    down = mlops("down", example, "--state-dir", state, cwd=tmp_path)
    assert down.returncode == 0 and "nothing to stop" in down.stdout


def test_importing_feast_leaves_the_environment_services_inherit_alone() -> None:
    # Feast points prometheus_client at a temporary directory through the environment; the services
    # `mlops up` starts after preparing the feature store would inherit it and fail on every request.
    code = "import os, mlops_dsl.runtime.features; print(sorted(k for k in os.environ if k.startswith('PROMETHEUS_MULTIPROC')))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_MULTIPROC")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_waiting_for_a_service_outlasts_an_answer_that_is_not_http(tmp_path: Path) -> None:
    # A probe of a port in the ephemeral range can connect to itself and read its own request
    # back ("GET /healthz HTTP/1.1" as the status line): not ready yet, not an internal error.
    import socket
    import threading

    from mlops_dsl.local.layout import Service
    from mlops_dsl.local.processes import Processes, Record

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answers = [b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"]

    def serve() -> None:
        for answer in answers:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    me = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[0].decode()
    record = Record("probe", os.getpid(), [me], port, f"http://127.0.0.1:{port}", str(tmp_path / "probe.log"), "now")
    service = Service("probe", port, [me], f"http://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{port}")
    try:
        Processes(tmp_path).wait_ready(service, record, timeout=10)  # returns once the second answer is a 200
    finally:
        listener.close()
