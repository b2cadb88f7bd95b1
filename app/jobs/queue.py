"""The jobs façade's runner side: what a JobRunner (app/jobs/runner.py) does with jobs. It claims
queued ones, holds them (heartbeats; a silent runner's taken over), reads them, and records what
their trainers do. Every call runs on the store's threads; trying again is the runner's choice
(its Retrying), not this class's. State changes and events go through `Jobs`, which wakes the
followers in this process.
"""

from __future__ import annotations

from app.jobs.paths import JobPaths
from app.jobs.schema import JobRecord, JobState
from app.jobs.service import Jobs, NoSuchJob


class JobQueue:
    def __init__(self, jobs: Jobs):
        self._jobs, self._store = jobs, jobs.store

    def paths(self, job_id: int) -> JobPaths:
        return self._jobs.paths(job_id)

    # -- claiming and holding ------------------------------------------------------------------

    async def claim(self, worker: str) -> JobRecord | None:
        """The oldest queued job, now running on `worker`; None when nothing is queued."""
        return await self._store.call(self._store.claim, worker)

    async def running_on(self, worker: str) -> list[JobRecord]:
        return await self._store.call(self._store.running_on, worker)

    async def heartbeat(self, job_id: int, worker: str) -> bool:
        """Still ours? False when another runner took the job over."""
        return await self._store.call(self._store.heartbeat, job_id, worker)

    async def stale(self, older_than: float) -> list[JobRecord]:
        """Running jobs whose runner has not been heard of since `older_than`."""
        return await self._store.call(self._store.stale, older_than)

    async def take_over(self, job_id: int, worker: str, older_than: float) -> bool:
        """Make a stale job `worker`'s to recover; False when another runner got there first."""
        return await self._store.call(self._store.take_over, job_id, worker, older_than)

    async def finished_before(self, when: float) -> list[int]:
        return await self._store.call(self._store.finished_before, when)

    # -- a job held ----------------------------------------------------------------------------

    async def get(self, job_id: int) -> JobRecord:
        """The job as stored now; NoSuchJob when it is gone (deleted by hand: the API deletes
        finished jobs only)."""
        job = await self._store.call(self._store.get, job_id)
        if job is None:
            raise NoSuchJob(f"no job {job_id}")
        return job

    async def set_progress(self, job_id: int, progress: dict, events_offset: int) -> None:
        """The progress after the trainer's events up to `events_offset` (bytes) were copied."""
        await self._store.call(self._store.set_progress, job_id, progress, events_offset)

    async def set_model_version(self, job_id: int, ref: str) -> None:
        await self._store.call(self._store.set_model_version, job_id, ref)

    async def set_state(
        self, job_id: int, state: JobState, error: str | None = None, **data
    ) -> None:
        await self._jobs.set_state(job_id, state, error, **data)

    async def emit(self, job_id: int, kind: str, data: dict) -> int:
        return await self._jobs.emit(job_id, kind, data)
