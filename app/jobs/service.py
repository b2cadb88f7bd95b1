"""Training jobs as the API sees them: create, read, cancel, resume, delete, follow.

The routes use this façade alone. Jobs and their events live in the job store (SQLite, or
PostgreSQL shared by replicas); a JobRunner (app/jobs/runner.py), in this process or in a
`dcgan-worker`, claims queued jobs through the façade's runner side (app/jobs/queue.py) and
runs their trainers. So every action here is a change in the store that any runner sees, and
following a job reads the store: a replica that does not run the job streams its events as well
as one that does. Every method runs its store calls on the store's threads: a slow or locked
database never holds the event loop. A job is read as a JobRecord and shown as a Job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from app.jobs.paths import JobPaths
from app.jobs.schema import FINISHED, RESUMABLE, Job, JobParams, JobRecord, JobState, state_flags
from app.jobs.store import DiskFull, JobStore, QueueFull, StoreUnavailable
from app.logs import redact

log = logging.getLogger("app")
POLL_SECONDS = 1.0  # how often a follower looks for events written by another process
PING_SECONDS = 2.0  # how long readiness waits for the database to take a write

__all__ = ["DiskFull", "JobConflict", "Jobs", "NoSuchJob", "QueueFull", "StoreUnavailable"]


class NoSuchJob(LookupError):
    pass


class JobConflict(Exception):
    """The job is not in a state that allows this action; the message says why."""


class Jobs:
    def __init__(self, store: JobStore, data_dir: Path, max_queued: int):
        self.store, self.data_dir, self.max_queued = store, data_dir, max_queued
        self._tick = asyncio.Event()  # set, and replaced, after every event this process writes
        self._ping: asyncio.Future | None = None
        self.wake_runner: Callable[[], None] = lambda: None  # set by an in-process JobRunner
        self.runner_problem: Callable[[], str | None] = lambda: None  # likewise
        if store.set_aside is not None:
            self._set_folders_aside(store.set_aside)

    def paths(self, job_id: int) -> JobPaths:
        return JobPaths.of(self.data_dir, job_id)

    def _set_folders_aside(self, database: Path) -> None:
        """A fresh database numbers jobs from 1 again: the old jobs' folders (their checkpoints)
        go beside the old database, so no new job resumes an old job's run."""
        moved = JobPaths.move_all_aside(self.data_dir, database.suffix)
        if moved is not None:
            log.error("the old jobs' folders moved to %s", moved.name)

    # -- reading -------------------------------------------------------------------------------

    async def get(self, job_id: int) -> Job:
        return await self.store.call(self._get, job_id)

    async def page(self, limit: int, offset: int) -> tuple[list[Job], int]:
        return await self.store.call(self._list, limit, offset)

    async def follow(self, job_id: int, after: int) -> AsyncIterator[tuple[int, str, dict]]:
        """The job's events after id `after`, as they are written, until the job has ended."""
        while True:
            tick = self._tick
            new = await self.store.call(self.store.events_after, job_id, after)
            for event_id, kind, data in new:
                yield event_id, kind, data
                after = event_id
            if new:
                continue
            job = await self.store.call(self.store.get, job_id)
            if job is None or job.state in FINISHED:
                if not await self.store.call(self.store.events_after, job_id, after):
                    return
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), POLL_SECONDS)

    async def sample(self, job_id: int, epoch: int) -> Path:
        return await self.store.call(self._sample, job_id, epoch)

    async def samples(self, job_id: int) -> list[Path]:
        return await self.store.call(lambda: self.paths(self._record(job_id).id).samples())

    async def problem(self) -> str | None:
        """Why jobs cannot run now (their runner or the database is down), else None."""
        problem = self.runner_problem()
        if problem:
            return redact(problem)
        if self._ping is None or self._ping.done():  # one check at a time, however many ask
            self._ping = asyncio.ensure_future(self.store.call(self.store.ping))
            self._ping.add_done_callback(lambda ping: ping.cancelled() or ping.exception())
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), PING_SECONDS)
        except TimeoutError:
            return f"the job database did not take a write within {PING_SECONDS:g} s"
        except StoreUnavailable as exc:
            return redact(str(exc))
        return None

    # -- acting --------------------------------------------------------------------------------

    async def create(self, params: JobParams) -> Job:
        """Queue a job; raises QueueFull beyond max_queued waiting jobs."""
        job = await self.store.call(self._create, params)
        self._written()
        self.wake_runner()
        return job

    async def cancel(self, job_id: int) -> Job:
        job = await self.store.call(self._cancel, job_id)
        self._written()
        return job

    async def resume(self, job_id: int) -> Job:
        job = await self.store.call(self._resume, job_id)
        self._written()
        self.wake_runner()
        return job

    async def delete(self, job_id: int) -> None:
        """A finished job, its events and its folder (not the model version it exported)."""
        await self.store.call(self._delete, job_id)

    # -- what runners call (through JobQueue): writes that wake this process's followers -------

    async def set_state(
        self, job_id: int, state: JobState, error: str | None = None, **data
    ) -> None:
        await self.store.call(self._set_state, job_id, state, error, **data)
        self._written()

    async def emit(self, job_id: int, kind: str, data: dict) -> int:
        event_id = await self.store.call(self._emit, job_id, kind, data)
        self._written()
        return event_id

    # -- on the store's threads ----------------------------------------------------------------

    def _written(self) -> None:
        """Wake this process's followers (on the event loop, after a write)."""
        self._tick.set()
        self._tick = asyncio.Event()

    def _record(self, job_id: int) -> JobRecord:
        job = self.store.get(job_id)
        if job is None:
            raise NoSuchJob(f"no job {job_id}")
        return job

    def _get(self, job_id: int) -> Job:
        return self.public(self._record(job_id))

    def _list(self, limit: int, offset: int) -> tuple[list[Job], int]:
        jobs, total = self.store.page(limit, offset)
        return [self.public(j) for j in jobs], total

    def flags(self, job_id: int, state: str) -> dict[str, bool]:
        """What may be done with the job now; resuming needs a checkpoint as well."""
        flags = state_flags(state)
        flags["resumable"] = flags["resumable"] and self.paths(job_id).has_checkpoint()
        return flags

    def public(self, job: JobRecord) -> Job:
        return Job.of(job, self.flags(job.id, job.state))

    def _sample(self, job_id: int, epoch: int) -> Path:
        path = self.paths(self._record(job_id).id).sample(epoch)
        if not path.is_file():
            raise NoSuchJob(f"job {job_id} has no sample for epoch {epoch}")
        return path

    def _create(self, params: JobParams) -> Job:
        queued = {"state": JobState.QUEUED, **state_flags(JobState.QUEUED), "time": time.time()}
        job = self.store.create(
            params.model_dump(exclude_none=True), self.max_queued, ("state", queued)
        )
        return self.public(job)

    def _cancel(self, job_id: int) -> Job:
        job = self._record(job_id)
        if job.state == JobState.QUEUED:
            self._set_state(job_id, JobState.CANCELLED)
        elif job.state == JobState.RUNNING and self.store.request_cancel(job_id):
            self._emit(job_id, "cancelling", {})  # the runner stops the trainer (see runner.py)
        else:
            raise JobConflict(
                f"job {job_id} is {job.state}; only queued or running jobs can be cancelled"
            )
        return self._get(job_id)

    def _resume(self, job_id: int) -> Job:
        job = self._record(job_id)
        if job.state not in RESUMABLE:
            raise JobConflict(
                f"job {job_id} is {job.state}; only "
                f"{', '.join(sorted(RESUMABLE))} jobs can be resumed"
            )
        if not self.paths(job_id).has_checkpoint():
            raise JobConflict(f"job {job_id} has no checkpoint to resume from")
        self._set_state(job_id, JobState.QUEUED)
        return self._get(job_id)

    def _delete(self, job_id: int) -> None:
        job = self._record(job_id)
        if job.state not in FINISHED:
            raise JobConflict(f"job {job_id} is {job.state}; cancel it first")
        self.store.delete(job_id)
        shutil.rmtree(self.paths(job_id).root, ignore_errors=True)

    def _set_state(self, job_id: int, state: JobState, error: str | None = None, **data) -> None:
        self.store.set_state(job_id, state, error)
        extra = {"error": error} if error else {}
        flags = self.flags(job_id, state)
        self._emit(job_id, "state", {"state": state, **flags, **extra, **data})

    def _emit(self, job_id: int, kind: str, data: dict) -> int:
        return self.store.add_event(job_id, kind, {**data, "time": data.get("time", time.time())})
