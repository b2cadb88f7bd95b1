"""JobManager pieces that need no trainer process."""

import asyncio
import shutil

from app.config import Settings
from app.jobs import JobManager
from app.jobstore import JobStore
from app.registry import ModelRegistry


def test_an_export_that_fails_to_load_never_replaces_the_active_model(tmp_path, models_dir):
    shutil.copytree(models_dir / "dcgan", tmp_path / "models" / "dcgan")
    (tmp_path / "models" / "dcgan" / "3").mkdir()  # an export without its files

    async def scenario():
        settings = Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data")
        registry = ModelRegistry(settings.models_dir, "dcgan")
        registry.load_all()
        jobs = JobManager(JobStore(tmp_path / "data" / "jobs.db"), settings, registry)
        job = jobs.store.create({"name": "dcgan", "activate": True})
        await jobs._serve_export(job, {"version": 3})
        return registry, jobs.store.get(job["id"])

    registry, job = asyncio.run(scenario())
    assert registry.active["dcgan"] == 2
    assert registry.versions["dcgan"][3].status == "failed"
    assert job["state"] == "failed" and job["error"].startswith("export dcgan@3 failed to load")
