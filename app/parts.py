"""The service's parts built from its Settings: one way for the API process (app/main.py) and
for a training worker (app/worker.py)."""

from __future__ import annotations

import socket

from app.config import Settings
from app.jobs.runner import JobRunner
from app.jobs.service import Jobs
from app.jobs.store import JobStore
from app.serving.generator import generation_options
from app.serving.registry import ModelRegistry
from app.serving.shipped import copy_shipped_models


def model_registry(settings: Settings, device: str = "CPU", *, serving: bool) -> ModelRegistry:
    """The models folder's versions (an installed wheel's first start copies the shipped ones
    there: app/serving/shipped.py); a worker (serving=False) loads a new export only to check
    it, then drops it, and loads nothing at start."""
    copy_shipped_models(settings.models_dir, settings.data_dir)
    options = generation_options(
        settings.precision, settings.generation_mode, settings.batch_max_images
    )
    return ModelRegistry(
        settings.models_dir,
        settings.default_model,
        options,
        device,
        max_idle=settings.max_idle_versions if serving else 0,
        eager=serving,
        max_loaded=settings.max_loaded_versions,
    )


def job_service(settings: Settings) -> Jobs:
    """The jobs façade over the job store (SQLite under the data folder, or PostgreSQL)."""
    store = JobStore(settings.database_url or settings.data_dir / "jobs.db")
    return Jobs(store, settings.data_dir, settings.max_queued_jobs)


def job_runner(
    jobs: Jobs, settings: Settings, registry: ModelRegistry, name: str, *, serving: bool
) -> JobRunner:
    """The loop that claims and runs queued jobs; a worker's is not restarted in-process
    (it exits, and compose or Kubernetes starts it again)."""
    return JobRunner(jobs, settings, registry, name, serving=serving, restart=serving)


def worker_id(role: str) -> str:
    """Who runs a job, as the store records it: this host and role (the same after a restart,
    so a restarted service recovers its own jobs at once)."""
    return f"{socket.gethostname()}/{role}"
