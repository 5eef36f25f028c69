"""``mlops status``: the local platform's services, models, versions, retraining runs and firing alerts.

Everything is read, nothing is changed: the process records, the registry, the
trigger's store (read-only), and the running services' own answers (the model
server for the version it serves, Prometheus for the alerts that fire).
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from mlops_dsl.local.layout import START_ORDER, LocalPlatform, check_database
from mlops_dsl.local.processes import Processes, is_running


def headline(metrics: dict[str, float], first: str | None, count: int = 2) -> str:
    """A few metrics for a line of text, the gate's metric first."""
    names = sorted(metrics, key=lambda name: (name != first, name))[:count]
    return ", ".join(f"{name} {metrics[name]:.3f}" for name in names)


def _get_json(url: str, timeout: float = 3.0) -> Any | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        return None


def _services(local: LocalPlatform) -> dict[str, dict[str, Any]]:
    records = Processes(local.paths.root).records()
    services = {}
    for name in START_ORDER:
        record = records.get(name)
        services[name] = {
            "url": local.link(name),
            "running": record is not None and is_running(record),
            "pid": record.pid if record else None,
            "log": record.log if record else None,
        }
    return services


def _runs(local: LocalPlatform) -> list[dict[str, Any]]:
    """The trigger's runs, newest first, read without writing (the trigger may be running)."""
    path = local.paths.trigger_db
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM runs ORDER BY started_at DESC").fetchall()
    except sqlite3.DatabaseError:
        return []
    return [dict(row) for row in rows]


def _alerts(local: LocalPlatform, running: bool) -> list[dict[str, Any]]:
    if not running:
        return []
    answer = _get_json(f"{local.url('prometheus')}/api/v1/alerts")
    alerts = (answer or {}).get("data", {}).get("alerts", [])
    return [
        {
            "alert": a["labels"].get("alertname"),
            "model": a["labels"].get("model"),
            "state": a.get("state"),
            "since": a.get("activeAt"),
            "value": a.get("value"),
            "summary": a.get("annotations", {}).get("summary", ""),
        }
        for a in alerts
    ]


def collect(local: LocalPlatform) -> dict[str, Any]:
    """The status as data (what ``mlops status --json`` prints)."""
    from mlops_dsl.runtime.registry import PRODUCTION, ModelRegistry

    # MLflow on a garbage database fails in SQLAlchemy, over several lines; say which file, once.
    check_database(local.registry_db, "the model registry")
    check_database(local.paths.trigger_db, "the retraining trigger's state")
    services = _services(local)
    registry = ModelRegistry(local.paths.registry_uri()) if (local.paths.root / "registry").exists() else None
    runs = _runs(local)
    models: dict[str, Any] = {}
    for model in local.spec.platform.models:
        versions = registry.versions(model.name) if registry else []
        serving = None
        if services["model-server"]["running"]:
            served = _get_json(f"{local.url('model-server')}/v2/models/{model.name}")
            serving = (served or {}).get("versions", [None])[0]
        models[model.name] = {
            "gate_metric": model.training.gate.metric if model.training.gate else None,
            "serving_version": serving,
            "production_version": registry.alias_version(model.name, PRODUCTION) if registry else None,
            "versions": [
                {
                    "version": v.version,
                    "aliases": v.aliases,
                    "stage": v.status,
                    "metrics": v.metrics,
                    "trigger_reason": v.lineage.get("trigger_reason"),
                    "data_snapshot": v.lineage.get("data_snapshot"),
                    "gate": {
                        "passed": v.gate_passed,
                        "reason": v.gate_reason,
                        "production_version": v.gate_production[0] if v.gate_production else None,
                        "production_score": v.gate_production[1] if v.gate_production else None,
                    },
                    "created_at": v.created_at.isoformat(),
                    "run_id": v.run_id,
                }
                for v in versions
            ],
            "retraining_runs": [r for r in runs if r["model"] == model.name],
        }
    return {
        "platform": local.spec.platform.name,
        "environment": local.spec.environment,
        "state_dir": str(local.paths.root),
        "services": {name: s["url"] for name, s in services.items()},
        "processes": services,
        "models": models,
        "alerts": _alerts(local, services["prometheus"]["running"]),
    }


def _ago(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return stamp
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def _one_line(text: str | None, width: int = 200) -> str:
    """A failure's reason on one line: the first line, shortened."""
    first = (text or "no reason recorded; see the run's log under runs/").strip().splitlines()[0]
    return first if len(first) <= width else first[: width - 3] + "..."


def render(status: dict[str, Any]) -> str:
    """The status as text, for a terminal."""
    lines = [f"{status['platform']} ({status['environment']}), state in {status['state_dir']}", "", "Services"]
    width = max(len(name) for name in status["processes"])
    for name, process in status["processes"].items():
        state = f"running (pid {process['pid']})" if process["running"] else "stopped"
        lines.append(f"  {name:<{width}}  {state:<20} {process['url']}")
    for name, model in status["models"].items():
        serving = model["serving_version"] or "nothing (the model server is not running)"
        lines += ["", f"Model {name}: serving v{serving}" if model["serving_version"] else f"Model {name}: serving {serving}"]
        for version in model["versions"]:
            metrics = headline(version["metrics"], model["gate_metric"])
            lines.append(
                f"  v{version['version']:<4} {version['stage']:<10} {metrics:<30} "
                f"{_ago(version['created_at']):>8}  reason: {version['trigger_reason']}"
            )
        runs = model["retraining_runs"]
        lines.append(f"  retraining runs: {len(runs)}" + ("" if runs else " (none yet)"))
        for run in runs[:10]:
            outcome = run["outcome"] or run["status"]
            made = f" -> v{run['version']}" if run.get("version") else ""
            lines.append(f"    {run['id']:<34} {run['status']:<10} {outcome}{made:<8} {_ago(run['started_at']):>8}  {run['reason']}")
            if run["status"] == "failed":
                lines.append(f"      why: {_one_line(run.get('detail'))}")
    alerts = status["alerts"]
    lines += [
        "",
        f"Alerts: {sum(1 for a in alerts if a['state'] == 'firing')} firing, {sum(1 for a in alerts if a['state'] == 'pending')} pending",
    ]
    for alert in alerts:
        lines.append(f"  {alert['state']:<8} {alert['alert']} ({alert['model']}) since {_ago(alert['since'])}: {alert['summary']}")
    return "\n".join(lines)
