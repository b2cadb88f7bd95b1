"""The JobRunner: claims queued jobs from the store, one at a time, and runs each trainer.

The API process runs one when DCGAN_RUN_JOBS=embedded (the default); `dcgan-worker` processes
run one each. While a trainer runs, its runner copies the trainer's events into the store,
beats a heartbeat, and stops the trainer (it checkpoints) when a cancel is requested. A job
whose runner stops beating is recovered by another: leftover events are read, and the job
ends `interrupted` (resumable from its last checkpoint) or, if its export was done, as it would
have. The job folder's lock, inherited by the trainer, keeps two trainers off one folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import time

from pydantic import ValidationError

from app.config import Settings
from app.jobs import Jobs
from app.jobschema import JobParams, JobState, project
from app.loading import redact
from app.logs import job_context
from app.modelsdir import read_active, write_active
from app.registry import ModelRegistry
from app.runpaths import JobPaths
from app.trainer import (
    exit_reason,
    exited_within,
    lock,
    read_new_lines,
    start_trainer,
    trainer_command,
)

log = logging.getLogger("app")
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 5.0
LOCK_WAIT_SECONDS = 150.0  # a trainer told to stop writes its checkpoint first


class JobRunner:
    def __init__(
        self, jobs: Jobs, settings: Settings, registry: ModelRegistry, worker: str, serving: bool
    ):
        self.jobs, self.store, self.settings, self.registry = jobs, jobs.store, settings, registry
        self.worker, self.serving = worker, serving  # serving: exports are kept loaded here
        # A runner in the service is woken by new jobs; a worker looks for them this often.
        self.idle_poll = HEARTBEAT_SECONDS if serving else 1.0
        self._wakeup = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        jobs.wake_runner = self._wakeup.set

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"runner {self.worker}")

    async def stop(self) -> None:
        """Stop the running trainer (it checkpoints) and wait for its job to end `interrupted`."""
        self._stopping = True
        if self._proc and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
            await asyncio.wait({self._task}, timeout=LOCK_WAIT_SECONDS)
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def run(self) -> None:
        for job in self.store.running_on(self.worker):  # this runner's, before a restart
            async with self._holding(job["id"]):
                await self._recover(job)
        last_sweep = 0.0
        while not self._stopping:
            if time.monotonic() - last_sweep > HEARTBEAT_SECONDS:
                last_sweep = time.monotonic()
                await self._sweep()
            job = self.store.claim(self.worker)
            if job is not None:
                async with self._holding(job["id"]):
                    await self._execute(job)
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.idle_poll)

    @contextlib.asynccontextmanager
    async def _holding(self, job_id: int):
        """A heartbeat for as long as this runner holds the job: while it waits for the folder's
        lock, runs the trainer, loads the export. Taken over meanwhile: the trainer stops."""

        async def beat() -> None:
            seconds = min(HEARTBEAT_SECONDS, self.settings.heartbeat_timeout / 3)
            while True:
                await asyncio.sleep(seconds)
                if not self.store.heartbeat(job_id, self.worker):
                    log.warning("job %d was taken over: stopping its trainer", job_id)
                    if self._proc and self._proc.returncode is None:
                        self._proc.send_signal(signal.SIGTERM)
                    return

        with job_context(job_id):  # the job's log lines, its heartbeat's too, carry its id
            task = asyncio.create_task(beat(), name=f"heartbeat {job_id}")
            try:
                yield
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # -- one job -------------------------------------------------------------------------------

    async def _execute(self, job: dict) -> None:
        job_id, paths = job["id"], JobPaths.of(self.settings.data_dir, job["id"])
        try:
            params = JobParams.model_validate(job["params"])
        except ValidationError as exc:  # a row from an older release, with rules since changed
            self.jobs.set_state(
                job_id, JobState.FAILED, f"invalid parameters: {exc.errors()[0]['msg']}"
            )
            return
        mnist = self.settings.mnist_path
        if mnist is not None and not mnist.exists():
            self.jobs.set_state(
                job_id,
                JobState.FAILED,
                f"no MNIST at {redact(str(mnist))}: set DCGAN_MNIST_PATH to a Keras mnist.npz "
                "(or an IDX folder), or unset it to download MNIST, then start the job again",
            )
            return
        fd = await self._lock(paths)
        if fd is None:
            self.jobs.set_state(job_id, JobState.FAILED, "another trainer still runs in its folder")
            return
        try:
            self._pin_current(params)
            command = trainer_command(params, paths, self.settings.models_dir)
            self._proc = await start_trainer(command, paths, self.settings.mnist_path, fd)
        except Exception as exc:
            log.exception("job %d could not start", job_id)
            self.jobs.set_state(
                job_id, JobState.FAILED, f"could not start: {type(exc).__name__}: {exc}"
            )
            return
        finally:
            os.close(fd)
        self.jobs.set_state(job_id, JobState.RUNNING, pid=self._proc.pid, worker=self.worker)
        try:
            events = await self._watch(job, paths)
            await self._finish(job_id, params, self._proc.returncode, events, paths)
        finally:
            self._proc = None

    async def _watch(self, job: dict, paths: JobPaths) -> list[dict]:
        """Copy the trainer's events into the store until it exits; heed cancel requests."""
        job_id, offset, events = job["id"], job["events_offset"], []
        cancelling = False
        while True:
            exited = await exited_within(self._proc, POLL_SECONDS)
            offset, new = read_new_lines(paths.events, offset)
            events += self._ingest(job_id, new, offset)
            if exited:
                return events
            if not cancelling and self.store.get(job_id)["cancel_requested"]:
                cancelling = True
                self._proc.send_signal(signal.SIGTERM)

    def _ingest(self, job_id: int, events: list[dict], offset: int) -> list[dict]:
        if not events:
            return []
        progress = self.store.get(job_id)["progress"]
        for event in events:
            data = dict(event)
            kind = data.pop("event", "unknown")
            progress = project(progress, kind, data, job_id)
            if kind == "epoch":
                data["sample_url"] = progress["sample_url"]
            for key in ("sample", "path"):  # server paths: clients use sample_url
                data.pop(key, None)
            self.jobs.emit(job_id, kind, data)
        self.store.set_progress(job_id, progress)
        self.store.set_events_offset(job_id, offset)
        return events

    async def _finish(
        self,
        job_id: int,
        params: JobParams,
        status: int | None,
        events: list[dict],
        paths: JobPaths,
    ) -> None:
        export = next((e for e in reversed(events) if e.get("event") == "export"), None)
        cancelled = bool(self.store.get(job_id)["cancel_requested"])
        if cancelled and status == -signal.SIGTERM:  # stopped before it could catch the signal
            self.jobs.set_state(job_id, JobState.CANCELLED)
        elif status != 0:
            self.jobs.set_state(
                job_id, JobState.FAILED, exit_reason(status or 0, paths.stderr, events)
            )
        elif export is None:
            self.jobs.set_state(job_id, JobState.CANCELLED if cancelled else JobState.INTERRUPTED)
        else:
            await self._accept(job_id, params, int(export["version"]), paths)

    async def _accept(self, job_id: int, params: JobParams, version: int, paths: JobPaths) -> None:
        """Serve the export only once it loads: a broken one never replaces a working version."""
        model = await self.registry.accept(params.name, version, params.activate)
        self.store.set_model_version(job_id, model.ref)
        if model.status != "ready":
            self.jobs.set_state(
                job_id, JobState.FAILED, f"export {model.ref} failed to load: {model.error}"
            )
            return
        if not self.serving:
            model.unload()
        if not self.settings.keep_succeeded_checkpoints:
            shutil.rmtree(paths.checkpoints, ignore_errors=True)  # nothing resumes a success
        active = self.registry.active.get(params.name) == version
        self.jobs.set_state(job_id, JobState.SUCCEEDED, model_version=model.ref, active=active)

    def _pin_current(self, params: JobParams) -> None:
        """A job that must not activate its export pins the version its name serves now."""
        current = self.registry.active.get(params.name)
        folder = self.settings.models_dir / params.name
        if not params.activate and current is not None and read_active(folder) is None:
            write_active(folder, current)

    async def _lock(self, paths: JobPaths) -> int | None:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while (fd := lock(paths)) is None and time.monotonic() < deadline:
            await asyncio.sleep(1)
        return fd

    # -- others' jobs --------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """Recover jobs whose runner went silent; drop old checkpoints of finished jobs."""
        silent_since = time.time() - self.settings.heartbeat_timeout
        for job in self.store.stale(silent_since):
            if self.store.take_over(job["id"], self.worker, silent_since):
                async with self._holding(job["id"]):
                    await self._recover(job)
        days = self.settings.job_checkpoint_days
        if days is not None:
            for job_id in self.store.finished_before(time.time() - days * 86400):
                shutil.rmtree(
                    JobPaths.of(self.settings.data_dir, job_id).checkpoints, ignore_errors=True
                )

    async def _recover(self, job: dict) -> None:
        """A running job whose runner died: once its trainer is gone, read what it left."""
        job_id, paths = job["id"], JobPaths.of(self.settings.data_dir, job["id"])
        log.info("recovering job %d (its runner %s stopped)", job_id, job["worker"])
        fd = await self._lock(paths)
        if fd is None:
            log.warning("job %d: its trainer still runs; leaving it", job_id)
            return
        os.close(fd)
        job = self.store.get(job_id)  # as it is now that nothing writes it
        if job["state"] != JobState.RUNNING or job["worker"] != self.worker:
            return  # another runner got there first
        offset, events = read_new_lines(paths.events, job["events_offset"])
        events = self._ingest(job_id, events, offset)
        export = next((e for e in reversed(events) if e.get("event") == "export"), None)
        if export is not None:
            params = JobParams.model_validate(job["params"])
            await self._accept(job_id, params, int(export["version"]), paths)
        else:
            self.jobs.set_state(job_id, JobState.INTERRUPTED, "its runner stopped during training")
