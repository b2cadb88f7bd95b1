"""Job records and their events, in SQLite (a file under the data folder, the default) or
PostgreSQL (DCGAN_DATABASE_URL=postgresql://..., shared by API replicas and workers).

One schema and one list of migrations for both; the SQL is written once with `?` placeholders.
Every method is one statement or one transaction, so several processes can share the database.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence

from app.jobs.database import Database, DiskFull, StoreUnavailable
from app.jobs.schema import ACTIVE, FINISHED, JobRecord, JobState

# Migration N brings the schema from version N-1 to N; {id} is the dialect's id column.
MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id {id},
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        progress TEXT NOT NULL DEFAULT '{{}}',
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
    """,
    """
    ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN worker TEXT;
    ALTER TABLE jobs ADD COLUMN heartbeat_at DOUBLE PRECISION;
    ALTER TABLE jobs ADD COLUMN events_offset BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
    """,
]
__all__ = ["DiskFull", "JobStore", "QueueFull", "StoreUnavailable"]


class QueueFull(Exception):
    """Too many jobs are queued already."""


class JobStore(Database):
    MIGRATIONS = MIGRATIONS

    def _unversioned(self) -> int:
        """1 for a database made before schema_version (it holds migration 1's tables)."""
        if self.dialect == "sqlite":
            found = self._one("SELECT name FROM sqlite_master WHERE type='table' AND name='jobs'")
        else:
            found = self._one("SELECT to_regclass('jobs') AS name")  # a row, its name NULL if none
        return 1 if found and found["name"] else 0

    # -- jobs ----------------------------------------------------------------------------------

    def create(
        self, params: dict, max_queued: int | None = None, event: tuple[str, dict] | None = None
    ) -> JobRecord:
        """A queued job, with its first event if given (both or neither: one transaction)."""
        with self._transaction():
            if max_queued is not None:
                queued = self._row("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'")["n"]
                if queued >= max_queued:
                    raise QueueFull(f"{queued} jobs are queued already (the limit)")
            row = self._row(
                "INSERT INTO jobs (params, state, created_at) VALUES (?, ?, ?) RETURNING *",
                json.dumps(params),
                JobState.QUEUED,
                time.time(),
            )
            if event is not None:
                self._append(row["id"], *event)
        return _record(row)

    def get(self, job_id: int) -> JobRecord | None:
        row = self._one("SELECT * FROM jobs WHERE id = ?", job_id)
        return _record(row) if row else None

    def page(self, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        rows = self._all("SELECT * FROM jobs ORDER BY id DESC LIMIT ? OFFSET ?", limit, offset)
        return [_record(r) for r in rows], self._row("SELECT COUNT(*) AS n FROM jobs")["n"]

    def claim(self, worker: str) -> JobRecord | None:
        """The oldest queued job, now running on `worker`; None when nothing is queued.
        Two claimers never get the same job."""
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        now = time.time()
        with self._transaction():
            row = self._one(
                "UPDATE jobs SET state = ?, worker = ?, heartbeat_at = ?, cancel_requested = 0, "
                "started_at = COALESCE(started_at, ?) WHERE id = (SELECT id FROM jobs "
                f"WHERE state = ? ORDER BY id LIMIT 1{lock}) RETURNING *",
                JobState.RUNNING,
                worker,
                now,
                now,
                JobState.QUEUED,
            )
        return _record(row) if row else None

    def heartbeat(self, job_id: int, worker: str) -> bool:
        """Still ours? False when another process took the job over."""
        return bool(
            self._run(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker = ? AND state = ?",
                time.time(),
                job_id,
                worker,
                JobState.RUNNING,
            )
        )

    def stale(self, older_than: float) -> list[JobRecord]:
        """Running jobs whose worker has not been heard of since `older_than`."""
        rows = self._all(
            "SELECT * FROM jobs WHERE state = ? AND COALESCE(heartbeat_at, 0) < ? ORDER BY id",
            JobState.RUNNING,
            older_than,
        )
        return [_record(r) for r in rows]

    def take_over(self, job_id: int, worker: str, older_than: float) -> bool:
        """Make a stale running job `worker`'s to recover; False when another got there first."""
        return bool(
            self._run(
                "UPDATE jobs SET worker = ?, heartbeat_at = ? WHERE id = ? AND state = ? "
                "AND COALESCE(heartbeat_at, 0) < ?",
                worker,
                time.time(),
                job_id,
                JobState.RUNNING,
                older_than,
            )
        )

    def running_on(self, worker: str) -> list[JobRecord]:
        rows = self._all(
            "SELECT * FROM jobs WHERE state = ? AND worker = ? ORDER BY id",
            JobState.RUNNING,
            worker,
        )
        return [_record(r) for r in rows]

    def finished_before(self, when: float) -> list[int]:
        rows = self._all(
            "SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", when
        )
        return [r["id"] for r in rows]

    def set_state(self, job_id: int, state: JobState, error: str | None = None) -> None:
        finished = time.time() if state in FINISHED else None
        self._run(
            "UPDATE jobs SET state = ?, error = ?, finished_at = ?, "
            "cancel_requested = CASE WHEN ? THEN 0 ELSE cancel_requested END WHERE id = ?",
            state,
            error,
            finished,
            state not in ACTIVE,
            job_id,
        )

    def set_progress(self, job_id: int, progress: dict, events_offset: int) -> None:
        """The progress once the trainer's events up to `events_offset` (bytes) are in."""
        sql = "UPDATE jobs SET progress = ?, events_offset = ? WHERE id = ?"
        self._run(sql, json.dumps(progress), events_offset, job_id)

    def set_model_version(self, job_id: int, ref: str) -> None:
        self._run("UPDATE jobs SET model_version = ? WHERE id = ?", ref, job_id)

    def request_cancel(self, job_id: int) -> bool:
        """Mark a running job for cancelling; its worker sees it on its next poll."""
        return bool(
            self._run(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = ?",
                job_id,
                JobState.RUNNING,
            )
        )

    def job_stats(self, bounds: Sequence[float]) -> list[dict]:
        """Per state: `jobs`, and of those with a start and an end, `timed`, `seconds` (their run
        seconds summed) and `le_0`, `le_1`, ...: how many ran at most bounds[0], bounds[1], ..."""
        run = "(finished_at - started_at)"
        within = "".join(
            f", SUM(CASE WHEN {run} <= {float(b)} THEN 1 ELSE 0 END) AS le_{i}"
            for i, b in enumerate(bounds)
        )
        return self._all(
            f"SELECT state, COUNT(*) AS jobs, COUNT({run}) AS timed, "
            f"COALESCE(SUM({run}), 0) AS seconds{within} FROM jobs GROUP BY state"
        )

    def delete(self, job_id: int) -> None:
        with self._transaction():
            self._run("DELETE FROM events WHERE job_id = ?", job_id)
            self._run("DELETE FROM jobs WHERE id = ?", job_id)

    # -- events --------------------------------------------------------------------------------

    def add_event(self, job_id: int, type_: str, data: dict) -> int:
        """Append an event; its id is one more than the job's last."""
        with self._transaction():
            return self._append(job_id, type_, data)

    def _append(self, job_id: int, type_: str, data: dict) -> int:
        if self.dialect == "postgresql":  # one writer of a job's events at a time
            self._run("SELECT id FROM jobs WHERE id = ? FOR UPDATE", job_id)
        next_id = self._row(
            "SELECT COALESCE(MAX(id), 0) + 1 AS n FROM events WHERE job_id = ?", job_id
        )["n"]
        self._run(
            "INSERT INTO events (job_id, id, type, data) VALUES (?, ?, ?, ?)",
            job_id,
            next_id,
            type_,
            json.dumps(data),
        )
        return next_id

    def events_after(
        self, job_id: int, after: int, limit: int = 500
    ) -> list[tuple[int, str, dict]]:
        rows = self._all(
            "SELECT id, type, data FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
            job_id,
            after,
            limit,
        )
        return [(r["id"], r["type"], json.loads(r["data"])) for r in rows]


def _record(row: dict) -> JobRecord:
    """A row as a record: its JSON columns parsed, its state and flag typed."""
    job = {field.name: row[field.name] for field in dataclasses.fields(JobRecord)}
    job["params"], job["progress"] = json.loads(job["params"]), json.loads(job["progress"])
    job["state"], job["cancel_requested"] = JobState(job["state"]), bool(job["cancel_requested"])
    return JobRecord(**job)
