"""The JobRunner: claims queued jobs, one at a time, and runs each (app/jobs/run.py). It reaches
jobs only through the façade: its runner side, JobQueue (app/jobs/queue.py).

The API process runs one when DCGAN_RUN_JOBS=embedded (the default); `dcgan-worker` processes
run one each. While a trainer runs, its runner copies the trainer's events into the store,
beats a heartbeat, and stops the trainer (it checkpoints) when a cancel is requested. A job
whose runner stops beating is recovered by another: leftover events are read, and the job
ends `interrupted` (resumable from its last checkpoint) or, if its export was done, as it would
have. The job folder's lock, inherited by the trainer, keeps two trainers off one folder.

Faults do not stop it: a store or file error is logged and the call tried again after a pause
that grows (the job waits; nothing is lost); a loop that dies anyway is started again and
counted (`restarts`), or, in a worker, ends the process. `problem()` says what is wrong
meanwhile (/readyz). A trainer told to stop that has not exited `cancel_grace_seconds` later is
killed: a hung trainer never holds the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time

from app.config import Settings
from app.jobs.queue import JobQueue
from app.jobs.resilience import Retrying, Supervisor
from app.jobs.run import LOCK_WAIT_SECONDS, JobRun
from app.jobs.service import Jobs, NoSuchJob
from app.jobs.store import StoreUnavailable
from app.logs import job_context
from app.serving.registry import ModelRegistry

log = logging.getLogger("app")
HEARTBEAT_SECONDS = 5.0


class JobRunner:
    def __init__(
        self,
        jobs: Jobs,
        settings: Settings,
        registry: ModelRegistry,
        worker: str,
        serving: bool,
        restart: bool = True,
    ):
        self.jobs, self.queue = jobs, JobQueue(jobs)
        self.settings, self.registry = settings, registry
        self.worker, self.serving = worker, serving  # serving: exports are kept loaded here
        # A runner in the service is woken by new jobs; a worker looks for them this often.
        self.idle_poll = HEARTBEAT_SECONDS if serving else 1.0
        self.retry = Retrying(f"job runner {worker}")
        # restart off (a worker): a loop that dies ends `task`, and the process exits
        self._supervisor = Supervisor(self.run, "job runner", restart)
        self._wakeup = asyncio.Event()
        self._current: JobRun | None = None
        jobs.wake_runner = self._wakeup.set
        jobs.runner_problem = self.problem

    @property
    def restarts(self) -> int:
        """Loops that died and were started again (for the metrics)."""
        return self._supervisor.restarts

    @property
    def task(self) -> asyncio.Task | None:
        return self._supervisor.task

    @property
    def stopping(self) -> bool:
        return self._supervisor.stopping

    def start(self) -> None:
        self._supervisor.start()

    def problem(self) -> str | None:
        """Why this runner cannot run jobs now, or None."""
        return self._supervisor.problem() or self.retry.trouble

    async def stop(self) -> None:
        """Stop the running trainer (it checkpoints) and wait for its job to end `interrupted`."""
        self._supervisor.stopping = self.retry.giving_up = True
        if self._current is not None and self._current.proc is not None:
            await self._current.stop_trainer()
            if self.task:
                await asyncio.wait({self.task}, timeout=LOCK_WAIT_SECONDS)
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        running = await self.retry(self.queue.running_on, self.worker)
        for job in running:  # this runner's, before a restart
            await self._hold(JobRun(self, job), JobRun.recover)
        last_sweep = 0.0
        while not self.stopping:
            self._supervisor.settled()
            if time.monotonic() - last_sweep > HEARTBEAT_SECONDS:
                last_sweep = time.monotonic()
                await self._sweep()
            self._wakeup.clear()  # before the claim: a job queued after it wakes the wait
            job = await self.retry(self.queue.claim, self.worker)
            if job is not None:
                await self._hold(JobRun(self, job), JobRun.execute)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.idle_poll)

    async def _hold(self, run: JobRun, step) -> None:
        """`step(run)` with a heartbeat for as long as it holds the job: while it waits for the
        folder's lock, runs the trainer, loads the export. Taken over or deleted meanwhile: the
        trainer stops."""

        async def beat() -> None:
            seconds = min(HEARTBEAT_SECONDS, self.settings.heartbeat_timeout / 3)
            while True:
                await asyncio.sleep(seconds)
                try:
                    ours = await self.queue.heartbeat(run.job_id, self.worker)
                except StoreUnavailable as exc:  # the next beat tries again
                    self.retry.trouble = str(exc)
                    log.warning("job %d: heartbeat not written: %s", run.job_id, exc)
                    continue
                if not ours:
                    log.warning("job %d was taken over: stopping its trainer", run.job_id)
                    await run.stop_trainer()
                    return

        self._current = run
        with job_context(run.job_id):  # the job's log lines, its heartbeat's too, carry its id
            task = asyncio.create_task(beat(), name=f"heartbeat {run.job_id}")
            try:
                await step(run)
            except NoSuchJob:  # its row is gone (deleted by hand): nothing left to record
                log.warning("job %d is no longer in the store: its run ends", run.job_id)
                await run.stop_trainer()
            finally:
                self._current = None
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _sweep(self) -> None:
        """Recover jobs whose runner went silent; drop old checkpoints of finished jobs, and
        exports that dead trainers left half-written."""
        silent_since = time.time() - self.settings.heartbeat_timeout
        for job in await self.retry(self.queue.stale, silent_since):
            if await self.retry(self.queue.take_over, job.id, self.worker, silent_since):
                await self._hold(JobRun(self, job), JobRun.recover)
        days = self.settings.job_checkpoint_days
        if days is not None:
            before = time.time() - days * 86400
            for job_id in await self.retry(self.queue.finished_before, before):
                checkpoints = self.queue.paths(job_id).checkpoints
                await asyncio.to_thread(shutil.rmtree, checkpoints, ignore_errors=True)
        await self.registry.sweep_dead_exports()
