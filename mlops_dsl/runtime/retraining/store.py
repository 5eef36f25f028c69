"""The trigger's durable state: every decision, every run, and what was already seen.

SQLite, one transaction per decision (``BEGIN IMMEDIATE``), so concurrent
notifications are decided one at a time and a restart finds everything as it
was: a run in progress still counts against the limits and is not started
twice. Each thread keeps its connection open: closing the last connection to a
WAL database checkpoints it, which took longer than the decision itself and,
in an alert storm, made notifications queue.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops_dsl.contracts.retraining import Decision, Event, History

ACTIVE = ("starting", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, trigger TEXT NOT NULL, reason TEXT NOT NULL,
    status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, backend_ref TEXT,
    outcome TEXT, version TEXT, detail TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, model TEXT NOT NULL, trigger TEXT NOT NULL,
    dedup_key TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, run_id TEXT
);
CREATE TABLE IF NOT EXISTS seen (dedup_key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_model ON runs (model, status);
"""


class StoreError(Exception):
    """The state file cannot be used (corrupt, unreadable); the message says which and why."""


@dataclass(frozen=True)
class Run:
    """One retraining run as the trigger knows it."""

    id: str
    model: str
    trigger: str
    reason: str
    status: str  # starting, running, succeeded, failed
    started_at: datetime
    finished_at: datetime | None = None
    backend_ref: str | None = None
    outcome: str | None = None
    version: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in self.__dict__.items()}


def _run(row: sqlite3.Row) -> Run:
    data = dict(row)
    data["started_at"] = datetime.fromisoformat(data["started_at"])
    data["finished_at"] = datetime.fromisoformat(data["finished_at"]) if data["finished_at"] else None
    return Run(**data)


class Transaction:
    """Reads and writes inside one exclusive transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection

    def history(self, event: Event) -> History:
        """What bears on this event: when its trigger was last accepted, the model's last run, runs going."""
        seen = self.db.execute("SELECT at FROM seen WHERE dedup_key = ?", (event.dedup_key,)).fetchone()
        last = self.db.execute("SELECT MAX(started_at) AS at FROM runs WHERE model = ?", (event.model,)).fetchone()
        running = self.db.execute(
            f"SELECT COUNT(*) AS n FROM runs WHERE model = ? AND status IN ({','.join('?' * len(ACTIVE))})", (event.model, *ACTIVE)
        ).fetchone()
        return History(
            last_seen=datetime.fromisoformat(seen["at"]) if seen else None,
            last_started=datetime.fromisoformat(last["at"]) if last and last["at"] else None,
            running=int(running["n"]),
        )

    def record(self, event: Event, decision: Decision, run_id: str | None) -> None:
        """Keep the decision; a non-duplicate also opens a new de-duplication window."""
        self.db.execute(
            "INSERT INTO decisions (at, model, trigger, dedup_key, action, kind, reason, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.at.isoformat(),
                event.model,
                str(event.trigger),
                event.dedup_key,
                decision.action,
                decision.kind,
                decision.reason,
                run_id,
            ),
        )
        if decision.counts_as_seen:
            self.db.execute("INSERT OR REPLACE INTO seen (dedup_key, at) VALUES (?, ?)", (event.dedup_key, event.at.isoformat()))

    def add_run(self, run: Run) -> None:
        """A run about to be started (status ``starting``)."""
        self.db.execute(
            "INSERT INTO runs (id, model, trigger, reason, status, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (run.id, run.model, run.trigger, run.reason, run.status, run.started_at.isoformat()),
        )


class TriggerStore:
    """The SQLite file behind the trigger."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._db()
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: the trigger's state file is not usable ({error}); move it aside to start afresh") from None

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, opened on its first use and kept."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """An exclusive transaction: committed if the block succeeds, rolled back if it raises."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Change a run's status, outcome, backend reference..."""
        values = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in fields.items()}
        assignments = ", ".join(f"{key} = ?" for key in values)
        with self.transaction() as tx:
            tx.db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*values.values(), run_id))

    def runs(self, model: str | None = None, active_only: bool = False) -> list[Run]:
        """Runs, newest first."""
        query = "SELECT * FROM runs"
        clauses, params = [], []
        if model is not None:
            clauses.append("model = ?")
            params.append(model)
        if active_only:
            clauses.append(f"status IN ({','.join('?' * len(ACTIVE))})")
            params.extend(ACTIVE)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        return [_run(row) for row in self._db().execute(query + " ORDER BY started_at DESC", params)]

    def decisions(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest decisions, newest first."""
        rows = self._db().execute("SELECT * FROM decisions ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def decision_counts(self) -> dict[tuple[str, str], int]:
        """How many decisions of each kind, per model."""
        rows = self._db().execute("SELECT model, kind, COUNT(*) AS n FROM decisions GROUP BY model, kind").fetchall()
        return {(row["model"], row["kind"]): int(row["n"]) for row in rows}

    def mark(self, key: str) -> str | None:
        """A remembered value (the last schedule tick, the data files already seen...)."""
        row = self._db().execute("SELECT value FROM marks WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_mark(self, key: str, value: str) -> None:
        """Remember a value."""
        with self.transaction() as tx:
            tx.db.execute("INSERT OR REPLACE INTO marks (key, value) VALUES (?, ?)", (key, value))
