"""JobManager pieces that need no trainer process."""

import asyncio
import shutil

from app.config import Settings
from app.jobs import JobManager, _read_new_lines
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


def test_only_complete_event_lines_are_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "start"}\n{"event": "epo')
    offset, events = _read_new_lines(path, 0)
    assert events == [{"event": "start"}] and offset == len('{"event": "start"}\n')
    with open(path, "a") as f:
        f.write('ch", "epoch": 1}\n')
    offset, events = _read_new_lines(path, offset)
    assert events == [{"event": "epoch", "epoch": 1}]
