"""Training jobs: one at a time, each a `python -m training --events` process at low priority.

The trainer's JSON-lines events are copied into the job store as they appear; state changes are
events too. A finished export is loaded before it is served, so a broken one never replaces a
working model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

from app.config import Settings
from app.jobstore import FINISHED, JobStore
from app.registry import ModelRegistry, load_version
from app.trainer import exit_reason, exited_within, read_new_lines, start_trainer, trainer_command

log = logging.getLogger("app")
POLL_SECONDS = 0.2


class JobConflict(Exception):
    """The job is not in a state that allows this action; the message says why."""


class JobManager:
    def __init__(self, store: JobStore, settings: Settings, registry: ModelRegistry):
        self.store, self.settings, self.registry = store, settings, registry
        self.changed = asyncio.Condition()  # notified after every event
        self._wakeup = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._running: int | None = None
        self._cancelling: set[int] = set()
        self._task: asyncio.Task | None = None

    def job_dir(self, job_id: int) -> Path:
        return self.settings.data_dir / "jobs" / str(job_id)

    def start(self) -> None:
        for job in self.store.in_state("running"):  # the service died while they ran
            self._set_state(job["id"], "interrupted", error="the service stopped during training")
        self._task = asyncio.create_task(self._run(), name="jobs")

    async def stop(self) -> None:
        """Stop the running trainer (it checkpoints); its job becomes `interrupted`."""
        if self._proc and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 120)
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._running is not None:
            self._set_state(self._running, "interrupted", error="the service stopped")

    def create(self, params: dict) -> dict:
        job = self.store.create(params)
        self._emit(job["id"], "state", {"state": "queued"})
        self._wakeup.set()
        return self.store.get(job["id"])

    def cancel(self, job_id: int) -> dict:
        job = self.store.get(job_id)
        if job["state"] == "queued":
            self._set_state(job_id, "cancelled")
        elif job["state"] == "running" and job_id == self._running and self._proc:
            self._cancelling.add(job_id)
            self._proc.send_signal(signal.SIGTERM)  # the trainer checkpoints, then exits
            self._emit(job_id, "cancelling", {})
        else:
            raise JobConflict(
                f"job {job_id} is {job['state']}; only queued or running jobs can be cancelled"
            )
        return self.store.get(job_id)

    def resume(self, job_id: int) -> dict:
        job = self.store.get(job_id)
        if job["state"] not in ("cancelled", "failed", "interrupted"):
            raise JobConflict(
                f"job {job_id} is {job['state']}; only cancelled, failed or "
                "interrupted jobs can be resumed"
            )
        if not (self.job_dir(job_id) / "run" / "checkpoints" / "checkpoint").exists():
            raise JobConflict(f"job {job_id} has no checkpoint to resume from")
        self.store.update(job_id, error=None, finished_at=None)
        self._set_state(job_id, "queued")
        self._wakeup.set()
        return self.store.get(job_id)

    async def _run(self) -> None:
        while True:
            job = self.store.next_queued()
            if job is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                await self._execute(job)
            except Exception as exc:  # a bug here must not stop later jobs
                log.exception("job %d failed to run", job["id"])
                self._set_state(job["id"], "failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._running, self._proc = None, None

    async def _execute(self, job: dict) -> None:
        job_id, folder = job["id"], self.job_dir(job["id"])
        folder.mkdir(parents=True, exist_ok=True)
        events_path = folder / "events.jsonl"
        events_path.touch()
        offset = events_path.stat().st_size
        command = trainer_command(job["params"], folder, self.settings.models_dir)
        self._proc = await start_trainer(command, folder, self.settings.mnist_path)
        self._running = job_id
        self.store.update(job_id, started_at=time.time())
        self._set_state(job_id, "running", pid=self._proc.pid)
        export = None
        while True:
            exited = await exited_within(self._proc, POLL_SECONDS)
            offset, events = read_new_lines(events_path, offset)
            for event in events:
                export = event if event.get("event") == "export" else export
                self._on_trainer_event(job_id, event)
            if exited:
                break
        await self._finish(job, self._proc.returncode, export)

    async def _finish(self, job: dict, status: int, export: dict | None) -> None:
        job_id = job["id"]
        cancelled = job_id in self._cancelling
        self._cancelling.discard(job_id)
        if status != 0:
            reason = exit_reason(status, self.job_dir(job_id) / "stderr.log")
            self._set_state(job_id, "failed", error=f"trainer {reason}")
        elif export is None:
            self._set_state(job_id, "cancelled" if cancelled else "interrupted")
        else:
            await self._serve_export(job, export)

    async def _serve_export(self, job: dict, export: dict) -> None:
        job_id, name, version = job["id"], job["params"]["name"], int(export["version"])
        path = self.settings.models_dir / name / str(version)
        model = await asyncio.to_thread(load_version, name, version, path)
        ref = f"{name}@{version}"
        self.store.update(job_id, model_version=ref)
        if model.status != "ready":
            self.registry.add(model)  # listed as failed; the active version stays
            self._set_state(job_id, "failed", error=f"export {ref} failed to load: {model.error}")
            return
        if job["params"].get("activate") or name not in self.registry.active:
            self.registry.activate(model)
        else:
            self.registry.add(model)
        self._set_state(
            job_id, "succeeded", model_version=ref, active=self.registry.active.get(name) == version
        )

    def _on_trainer_event(self, job_id: int, event: dict) -> None:
        event = dict(event)
        kind = event.pop("event", "unknown")
        progress = self.store.get(job_id)["progress"]
        if kind in ("start", "progress", "epoch"):
            keys = (
                "epoch",
                "epochs",
                "step",
                "steps",
                "g_loss",
                "d_loss",
                "images_per_sec",
                "eta_seconds",
                "metrics",
                "start_epoch",
                "steps_per_epoch",
            )
            progress.update({k: event[k] for k in keys if k in event})
            if kind == "epoch":
                progress["step"] = progress.get("steps_per_epoch", progress.get("step"))
                event["sample_url"] = f"/jobs/{job_id}/samples/{event['epoch']}.png"
                progress["sample_url"] = event["sample_url"]
            self.store.update(job_id, progress=progress)
        event.pop("sample", None)  # a server path: clients use sample_url
        event.pop("path", None)
        self._emit(job_id, kind, event)

    def _set_state(self, job_id: int, state: str, **data) -> None:
        fields = {"state": state}
        if state in FINISHED:
            fields["finished_at"] = time.time()
        if "error" in data:
            fields["error"] = data["error"]
        self.store.update(job_id, **fields)
        self._emit(job_id, "state", {"state": state, **data})

    def _emit(self, job_id: int, kind: str, data: dict) -> None:
        self.store.add_event(job_id, kind, {**data, "time": data.get("time", time.time())})
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()
