"""Where retraining runs: a local process or a Kubernetes Job (a SageMaker pipeline execution: :mod:`mlops_dsl.aws.pipelines`).

Each backend starts a run with its id and trigger reason, and later says how
it is going. The trigger reason always travels with the run: as a command-line
argument, a Job environment variable, or a pipeline parameter.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from mlops_dsl.contracts.environment import MODEL_ENV, RESULT_URL_ENV, RUN_ID_ENV, TRIGGER_REASON_ENV
from mlops_dsl.contracts.names import retraining_job_name, run_label
from mlops_dsl.contracts.retraining import RunRequest, RunState, State


class LocalProcessBackend:
    """Runs the trainer as a detached process on this machine.

    ``command`` is a list of arguments where ``{run_id}``, ``{model}``,
    ``{reason}`` and ``{result}`` are filled in. Each run gets a directory with
    its log, the process id, and the result file the trainer writes at the end.
    """

    def __init__(self, command: list[str], runs_dir: Path, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.runs_dir = runs_dir
        self.env = env or {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def _dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def start(self, request: RunRequest) -> str:
        folder = self._dir(request.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        values = {"run_id": request.run_id, "model": request.model, "reason": request.reason, "result": str(folder / "result.json")}
        args = [part.format(**values) for part in self.command]
        with open(folder / "log.txt", "ab") as log:
            child = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the trigger; a restart finds it by pid
                env={**os.environ, **self.env, RUN_ID_ENV: request.run_id, TRIGGER_REASON_ENV: request.reason},
            )
        (folder / "pid").write_text(str(child.pid))
        self._children[request.run_id] = child
        return f"pid:{child.pid}"

    def _alive(self, run_id: str, pid: int) -> bool:
        child = self._children.get(run_id)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        try:  # a zombie (exited, not reaped) is not alive
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except OSError:
            return True

    def status(self, run_id: str, reference: str) -> RunState:
        result = self._dir(run_id) / "result.json"
        if result.is_file():
            data = json.loads(result.read_text())
            state: State = "succeeded" if data.get("status") == "succeeded" else "failed"
            return RunState(state, data.get("outcome"), data.get("version"), data.get("reason"))
        pid = int(reference.removeprefix("pid:")) if reference.startswith("pid:") else -1
        if pid > 0 and self._alive(run_id, pid):
            return RunState("running")
        log = self._dir(run_id) / "log.txt"
        return RunState("failed", "error", None, f"the process ended without a result: {last_line(log)} (see {log})")

    def active(self, model: str) -> int | None:
        return None


def last_line(log: Path) -> str:
    """The last non-empty line of a run's log: the error that ended it, usually."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "it wrote no log"
    return lines[-1][:300] if lines else "it wrote nothing to its log"


class KubernetesJobBackend:
    """Creates a Job from the model's training Job template, in the trigger's own namespace.

    The Job reports how it ended to the trigger itself (``MLOPS_RESULT_URL``).
    """

    def __init__(self, namespace: str, templates: dict[str, dict[str, Any]], api: Any = None, result_url: str | None = None) -> None:
        self.namespace = namespace
        self.templates = templates
        self.result_url = result_url
        if api is None:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api = client.BatchV1Api()
        self.api = api

    def job(self, request: RunRequest) -> dict[str, Any]:
        """The Job manifest for a run: the template, named and labelled for it, with the reason in its environment."""
        body = copy.deepcopy(self.templates[request.model])
        body["metadata"]["name"] = retraining_job_name(request.model, request.run_id)
        labels = {"mlops.dev/model": request.model, "mlops.dev/run-id": run_label(request.run_id)}
        body["metadata"].setdefault("labels", {}).update(labels)
        pod = body["spec"]["template"]
        pod.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        for container in pod["spec"]["containers"]:
            container.setdefault("env", []).extend(
                [
                    {"name": RUN_ID_ENV, "value": request.run_id},
                    {"name": TRIGGER_REASON_ENV, "value": request.reason},
                    {"name": MODEL_ENV, "value": request.model},
                    *([{"name": RESULT_URL_ENV, "value": f"{self.result_url}/runs/{request.run_id}/result"}] if self.result_url else []),
                ]
            )
        return body

    def start(self, request: RunRequest) -> str:
        body = self.job(request)
        self.api.create_namespaced_job(namespace=self.namespace, body=body)
        return f"job:{body['metadata']['name']}"

    def status(self, run_id: str, reference: str) -> RunState:
        # The trigger may only create Jobs (least privilege), so it does not read
        # them back: a run reports its result to the trigger's /runs/{id}/result,
        # and one that never does is failed by the training timeout.
        return RunState("running")

    def active(self, model: str) -> int | None:
        return None
