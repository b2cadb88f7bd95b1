"""One job on a JobRunner: its trainer started, watched and ended, its export accepted; or, for a
running job whose runner died, what its trainer left read. Every call on the job (through the
runner's JobQueue) or on its files goes through the runner's Retrying: while the database or
the disk fails the job waits, and nothing it did is lost. A job whose row is gone raises
NoSuchJob (the runner ends its run)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app.jobs.schema import JobParams, JobRecord, JobState, project
from app.jobs.trainer import (
    end_trainer,
    exit_reason,
    exited_within,
    explain,
    lock,
    read_new_lines,
    start_trainer,
    trainer_command,
)
from app.logs import redact

if TYPE_CHECKING:
    from app.jobs.runner import JobRunner

log = logging.getLogger("app")
POLL_SECONDS = 0.2
LOCK_WAIT_SECONDS = 150.0  # a trainer told to stop writes its checkpoint first


class JobRun:
    def __init__(self, runner: JobRunner, job: JobRecord):
        self.runner, self.job, self.job_id = runner, job, job.id
        self.queue, self.settings, self.retry = runner.queue, runner.settings, runner.retry
        self.paths = self.queue.paths(self.job_id)
        self.proc: asyncio.subprocess.Process | None = None

    async def stop_trainer(self) -> None:
        """SIGTERM, then SIGKILL after the grace period (see trainer.end_trainer)."""
        if self.proc is not None:
            await end_trainer(self.proc, self.settings.cancel_grace_seconds)

    async def execute(self) -> None:
        params = await self._params()
        if params is None:
            return
        mnist = self.settings.mnist_path
        if mnist is not None and not mnist.exists():
            await self._set_state(
                JobState.FAILED,
                f"no MNIST at {redact(str(mnist))}: set DCGAN_MNIST_PATH to a Keras mnist.npz "
                "(or an IDX folder), or unset it to download MNIST, then start the job again",
            )
            return
        try:
            self.proc = await self._start(params)
        except Exception as exc:  # a full or read-only disk, a missing interpreter, ...
            log.exception("job %d could not start", self.job_id)
            reason = explain(f"{type(exc).__name__}: {exc}")
            await self._set_state(JobState.FAILED, f"could not start: {reason}")
            return
        if self.proc is None:
            await self._set_state(JobState.FAILED, "another trainer still runs in its folder")
            return
        try:
            await self._set_state(JobState.RUNNING, pid=self.proc.pid, worker=self.runner.worker)
            events = await self._watch()
            await self._finish(params, self.proc.returncode, events)
        except Exception:  # the runner's loop dies: the trainer checkpoints; the job recovers
            await self.stop_trainer()
            raise

    async def recover(self) -> None:
        """A running job whose runner died: once its trainer is gone, read what it left."""
        log.info("recovering job %d (its runner %s stopped)", self.job_id, self.job.worker)
        try:
            fd = await self._lock()
        except OSError as exc:  # its heartbeat stops here: a later sweep tries again
            log.warning("job %d: its folder cannot be locked (%s)", self.job_id, exc)
            return
        if fd is None:
            log.warning("job %d: its trainer still runs; leaving it", self.job_id)
            return
        os.close(fd)
        self.job = await self.retry(self.queue.get, self.job_id)  # now that nothing writes it
        if self.job.state != JobState.RUNNING or self.job.worker != self.runner.worker:
            return  # another runner got there first
        _, events = await self._ingest_new(self.job.events_offset)
        export = next((e for e in reversed(events) if e.get("event") == "export"), None)
        if export is None:
            await self._set_state(JobState.INTERRUPTED, "its runner stopped during training")
            return
        params = await self._params()
        if params is not None:
            await self._accept(params, int(export["version"]))

    # -- the steps -----------------------------------------------------------------------------

    async def _set_state(self, state: JobState, error: str | None = None, **data) -> None:
        await self.retry(self.queue.set_state, self.job_id, state, error, **data)

    async def _params(self) -> JobParams | None:
        try:
            return JobParams.model_validate(self.job.params)
        except ValidationError as exc:  # a row from an older release, with rules since changed
            await self._set_state(JobState.FAILED, f"invalid parameters: {exc.errors()[0]['msg']}")
            return None

    async def _start(self, params: JobParams) -> asyncio.subprocess.Process | None:
        """The job's trainer, holding the job folder's lock; None while another trainer does."""
        fd = await self._lock()
        if fd is None:
            return None
        try:
            if not params.activate:  # replicas keep serving what they serve
                await self.runner.registry.pin(params.name)
            command = trainer_command(params, self.paths, self.settings.models_dir)
            return await start_trainer(command, self.paths, self.settings.mnist_path, fd)
        finally:
            os.close(fd)

    async def _lock(self) -> int | None:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while (fd := lock(self.paths)) is None and time.monotonic() < deadline:
            await asyncio.sleep(1)
        return fd

    async def _watch(self) -> list[dict]:
        """Copy the trainer's events into the store until it exits; heed cancel requests."""
        offset, events, stopper = self.job.events_offset, [], None
        proc = self.proc
        assert proc is not None  # started by run() before it watches
        try:
            while True:
                exited = await exited_within(proc, POLL_SECONDS)
                offset, new = await self._ingest_new(offset)
                events += new
                if exited:
                    return events
                job = await self.retry(self.queue.get, self.job_id)
                if stopper is None and job.cancel_requested:
                    stopper = asyncio.create_task(self.stop_trainer())
        finally:
            if stopper is not None:
                stopper.cancel()

    async def _ingest_new(self, offset: int) -> tuple[int, list[dict]]:
        """The trainer's events written after `offset`, copied into the store as job events."""
        offset, events = await self.retry(
            asyncio.to_thread, read_new_lines, self.paths.events, offset
        )
        if not events:
            return offset, []
        progress = (await self.retry(self.queue.get, self.job_id)).progress
        for event in events:
            data = dict(event)
            kind = data.pop("event", "unknown")
            progress = project(progress, kind, data, self.job_id)
            if kind == "epoch":
                data["sample_url"] = progress["sample_url"]
            for key in ("sample", "path"):  # server paths: clients use sample_url
                data.pop(key, None)
            await self.retry(self.queue.emit, self.job_id, kind, data)
        await self.retry(self.queue.set_progress, self.job_id, progress, offset)
        return offset, events

    async def _finish(self, params: JobParams, status: int | None, events: list[dict]) -> None:
        export = next((e for e in reversed(events) if e.get("event") == "export"), None)
        cancelled = (await self.retry(self.queue.get, self.job_id)).cancel_requested
        signalled = status in (-signal.SIGTERM, -signal.SIGKILL)  # before it caught SIGTERM
        if cancelled and signalled:
            grace = self.settings.cancel_grace_seconds
            killed = f"its trainer still ran {grace:g} s after SIGTERM: killed"
            await self._set_state(JobState.CANCELLED, killed if status == -signal.SIGKILL else None)
        elif self.runner.stopping and signalled:
            await self._set_state(JobState.INTERRUPTED, "the service stopped")
        elif status != 0:
            await self._set_state(
                JobState.FAILED, exit_reason(status or 0, self.paths.stderr, events)
            )
        elif export is None:
            await self._set_state(JobState.CANCELLED if cancelled else JobState.INTERRUPTED)
        else:
            await self._accept(params, int(export["version"]))

    async def _accept(self, params: JobParams, version: int) -> None:
        """Serve the export only once it loads: a broken one never replaces a working version."""
        try:
            model = await self.runner.registry.accept(params.name, version, params.activate)
        except OSError as exc:  # active.json on a full or read-only disk
            reason = explain(f"{type(exc).__name__}: {exc}")
            error = f"export {params.name}@{version} could not be served: {reason}"
            await self._set_state(JobState.FAILED, error)
            return
        await self.retry(self.queue.set_model_version, self.job_id, model.ref)
        if model.status != "ready":
            await self._set_state(
                JobState.FAILED, f"export {model.ref} failed to load: {model.error}"
            )
            return
        if not self.runner.serving:
            model.unload()
        if not self.settings.keep_succeeded_checkpoints:  # nothing resumes a success
            await asyncio.to_thread(shutil.rmtree, self.paths.checkpoints, ignore_errors=True)
        active = self.runner.registry.active.get(params.name) == version
        await self._set_state(JobState.SUCCEEDED, model_version=model.ref, active=active)
