"""Training job records and their events, persisted in SQLite (WAL) under the data folder."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    progress TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    model_version TEXT
);
CREATE TABLE IF NOT EXISTS events (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    id INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, id)
);
"""
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


class JobStore:
    """One connection, used from the event loop thread only; every write commits at once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def create(self, params: dict) -> dict:
        cursor = self.db.execute(
            "INSERT INTO jobs (params, state, created_at) VALUES (?, 'queued', ?)",
            (json.dumps(params), time.time()),
        )
        return self.get(cursor.lastrowid)

    def get(self, job_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        rows = self.db.execute(
            "SELECT * FROM jobs ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        total = self.db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return [_job(r) for r in rows], total

    def next_queued(self) -> dict | None:
        row = self.db.execute(
            "SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
        ).fetchone()
        return _job(row) if row else None

    def in_state(self, state: str) -> list[dict]:
        rows = self.db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY id", (state,))
        return [_job(r) for r in rows.fetchall()]

    def update(self, job_id: int, **fields) -> None:
        if "progress" in fields:
            fields["progress"] = json.dumps(fields["progress"])
        if "params" in fields:
            fields["params"] = json.dumps(fields["params"])
        columns = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*fields.values(), job_id))

    def add_event(self, job_id: int, type_: str, data: dict) -> int:
        """Append an event; its id is one more than the job's last."""
        next_id = self.db.execute(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM events WHERE job_id = ?", (job_id,)
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO events (job_id, id, type, data) VALUES (?, ?, ?, ?)",
            (job_id, next_id, type_, json.dumps(data)),
        )
        return next_id

    def events_after(self, job_id: int, after: int) -> list[tuple[int, str, dict]]:
        rows = self.db.execute(
            "SELECT id, type, data FROM events WHERE job_id = ? AND id > ? ORDER BY id",
            (job_id, after),
        ).fetchall()
        return [(r["id"], r["type"], json.loads(r["data"])) for r in rows]


def _job(row: sqlite3.Row) -> dict:
    job = dict(row)
    job["params"] = json.loads(job["params"])
    job["progress"] = json.loads(job["progress"])
    return job
