"""Training jobs as the API sees them: create, read, cancel, resume, delete, follow.

The routes use this façade alone. Jobs and their events live in the job store (SQLite, or
PostgreSQL shared by replicas); a JobRunner (app/runner.py), in this process or in a
`dcgan-worker`, claims queued jobs from it and runs their trainers. So every action here is a
change in the store that any runner sees, and following a job reads the store: a replica that
does not run the job streams its events as well as one that does.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

from app.jobschema import FINISHED, RESUMABLE, JobParams, JobState, state_flags
from app.jobstore import JobStore, QueueFull
from app.loading import redact
from app.runpaths import JobPaths

POLL_SECONDS = 1.0
PUBLIC_FIELDS = (
    "id", "state", "params", "created_at", "started_at", "finished_at", "progress",
    "model_version",
)  # fmt: skip  # how often a follower looks for events written by another process

__all__ = ["JobConflict", "Jobs", "NoSuchJob", "QueueFull"]


class NoSuchJob(LookupError):
    pass


class JobConflict(Exception):
    """The job is not in a state that allows this action; the message says why."""


class Jobs:
    def __init__(self, store: JobStore, data_dir: Path, max_queued: int):
        self.store, self.data_dir, self.max_queued = store, data_dir, max_queued
        self._tick = asyncio.Event()  # set, and replaced, after every event this process writes
        self.wake_runner = lambda: None  # set by an in-process JobRunner

    def paths(self, job_id: int) -> JobPaths:
        return JobPaths.of(self.data_dir, job_id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, job_id: int) -> dict:
        job = self.store.get(job_id)
        if job is None:
            raise NoSuchJob(f"no job {job_id}")
        return self.public(job)

    def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        jobs, total = self.store.list(limit, offset)
        return [self.public(j) for j in jobs], total

    def flags(self, job_id: int, state: str) -> dict[str, bool]:
        """What may be done with the job now; resuming needs a checkpoint as well."""
        flags = state_flags(state)
        flags["resumable"] = flags["resumable"] and self.paths(job_id).has_checkpoint()
        return flags

    def public(self, job: dict) -> dict:
        """A job as the API shows it: its record, what may be done with it, no server paths."""
        shown = {k: job[k] for k in PUBLIC_FIELDS}
        shown["error"] = redact(job["error"]) if job["error"] else None
        return shown | self.flags(job["id"], job["state"])

    async def follow(self, job_id: int, after: int) -> AsyncIterator[tuple[int, str, dict]]:
        """The job's events after id `after`, as they are written, until the job has ended."""
        while True:
            tick = self._tick
            new = self.store.events_after(job_id, after)
            for event_id, kind, data in new:
                yield event_id, kind, data
                after = event_id
            if new:
                continue
            job = self.store.get(job_id)
            if job is None or job["state"] in FINISHED:
                if not self.store.events_after(job_id, after):
                    return
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), POLL_SECONDS)

    def sample(self, job_id: int, epoch: int) -> Path:
        path = self.paths(self.get(job_id)["id"]).sample(epoch)
        if not path.is_file():
            raise NoSuchJob(f"job {job_id} has no sample for epoch {epoch}")
        return path

    def samples(self, job_id: int) -> list[Path]:
        return self.paths(self.get(job_id)["id"]).samples()

    # -- acting --------------------------------------------------------------------------------

    def create(self, params: JobParams) -> dict:
        """Queue a job; raises QueueFull beyond max_queued waiting jobs."""
        job = self.store.create(params.model_dump(exclude_none=True), self.max_queued)
        self.emit(
            job["id"], "state", {"state": JobState.QUEUED, **self.flags(job["id"], JobState.QUEUED)}
        )
        self.wake_runner()
        return self.public(job)

    def cancel(self, job_id: int) -> dict:
        job = self.get(job_id)
        if job["state"] == JobState.QUEUED:
            self.set_state(job_id, JobState.CANCELLED)
        elif job["state"] == JobState.RUNNING and self.store.request_cancel(job_id):
            self.emit(job_id, "cancelling", {})  # the runner stops the trainer, which checkpoints
        else:
            raise JobConflict(
                f"job {job_id} is {job['state']}; only queued or running jobs can be cancelled"
            )
        return self.get(job_id)

    def resume(self, job_id: int) -> dict:
        job = self.get(job_id)
        if job["state"] not in RESUMABLE:
            raise JobConflict(
                f"job {job_id} is {job['state']}; only "
                f"{', '.join(sorted(RESUMABLE))} jobs can be resumed"
            )
        if not self.paths(job_id).has_checkpoint():
            raise JobConflict(f"job {job_id} has no checkpoint to resume from")
        self.set_state(job_id, JobState.QUEUED)
        self.wake_runner()
        return self.get(job_id)

    def delete(self, job_id: int) -> None:
        """A finished job, its events and its folder (not the model version it exported)."""
        job = self.get(job_id)
        if job["state"] not in FINISHED:
            raise JobConflict(f"job {job_id} is {job['state']}; cancel it first")
        self.store.delete(job_id)
        shutil.rmtree(self.paths(job_id).root, ignore_errors=True)

    # -- what runners call ---------------------------------------------------------------------

    def set_state(self, job_id: int, state: JobState, error: str | None = None, **data) -> None:
        self.store.set_state(job_id, state, error)
        extra = {"error": error} if error else {}
        flags = self.flags(job_id, state)
        self.emit(job_id, "state", {"state": state, **flags, **extra, **data})

    def emit(self, job_id: int, kind: str, data: dict) -> int:
        event_id = self.store.add_event(
            job_id, kind, {**data, "time": data.get("time", time.time())}
        )
        self._tick.set()
        self._tick = asyncio.Event()
        return event_id
