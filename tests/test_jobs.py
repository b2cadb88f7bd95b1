"""The jobs façade and the runner's pieces that need no trainer process."""

import asyncio
import shutil

import pytest

from app.config import Settings
from app.generator import Options
from app.jobs import JobConflict, Jobs, NoSuchJob, QueueFull
from app.jobschema import JobParams, JobState
from app.jobstore import JobStore
from app.registry import ModelRegistry
from app.runner import JobRunner


@pytest.fixture
def jobs(tmp_path):
    async def make():
        return Jobs(JobStore(tmp_path / "jobs.db"), tmp_path, max_queued=2)

    return asyncio.run(make())


def test_create_list_cancel_delete_and_the_queue_cap(jobs):
    async def scenario():
        first = jobs.create(JobParams(name="a"))
        assert first["state"] == "queued" and first["cancellable"] and not first["deletable"]
        jobs.create(JobParams(name="b"))
        with pytest.raises(QueueFull):
            jobs.create(JobParams(name="c"))
        with pytest.raises(JobConflict, match="cancel it first"):
            jobs.delete(first["id"])
        cancelled = jobs.cancel(first["id"])
        assert cancelled["state"] == "cancelled" and not cancelled["resumable"]  # nothing saved
        with pytest.raises(JobConflict, match="no checkpoint"):
            jobs.resume(first["id"])
        jobs.paths(first["id"]).checkpoints.mkdir(parents=True)
        (jobs.paths(first["id"]).checkpoints / "checkpoint").write_text("")
        assert jobs.get(first["id"])["resumable"]
        jobs.delete(first["id"])
        assert not jobs.paths(first["id"]).root.exists()
        with pytest.raises(NoSuchJob):
            jobs.get(first["id"])
        page, total = jobs.list(10, 0)
        assert total == 1 and page[0]["params"]["name"] == "b"

    asyncio.run(scenario())


def test_follow_streams_what_is_written_and_ends_with_the_job(jobs):
    async def scenario():
        job = jobs.create(JobParams(name="a"))
        seen = []

        async def follower():
            async for event_id, kind, data in jobs.follow(job["id"], 0):
                seen.append((event_id, kind, data.get("state")))

        task = asyncio.create_task(follower())
        await asyncio.sleep(0.05)
        jobs.emit(job["id"], "epoch", {"epoch": 1})
        await asyncio.sleep(0.05)
        assert seen[-1][:2] == (2, "epoch")  # at once, not on the next poll
        jobs.set_state(job["id"], JobState.FAILED, "trainer exited with status 1: /secret/path/x")
        await asyncio.wait_for(task, 5)
        assert seen == [(1, "state", "queued"), (2, "epoch", None), (3, "state", "failed")]
        assert jobs.get(job["id"])["error"] == "trainer exited with status 1: …/x"

    asyncio.run(scenario())


def test_an_export_that_fails_to_load_never_replaces_the_active_model(tmp_path, models_dir):
    shutil.copytree(models_dir / "dcgan", tmp_path / "models" / "dcgan")
    (tmp_path / "models" / "dcgan" / "3").mkdir()  # an export without its files

    async def scenario():
        settings = Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data")
        registry = ModelRegistry(settings.models_dir, "dcgan", Options(max_rows=16))
        await registry.refresh()
        jobs = Jobs(JobStore(tmp_path / "data" / "jobs.db"), settings.data_dir, 5)
        runner = JobRunner(jobs, settings, registry, "test", serving=True)
        job = jobs.create(JobParams(name="dcgan", activate=True))
        await runner._accept(job["id"], JobParams(name="dcgan", activate=True), 3, jobs.paths(1))
        return registry, jobs.get(job["id"])

    registry, job = asyncio.run(scenario())
    assert registry.active["dcgan"] == 2
    assert registry.versions["dcgan"][3].status == "failed"
    assert job["state"] == "failed" and job["error"].startswith("export dcgan@3 failed to load")


def test_the_job_queue_cap_is_a_429_with_retry_after(settings, tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app

    capped = settings.model_copy(
        update={"data_dir": tmp_path, "max_queued_jobs": 1, "run_jobs": "off", "api_token": "t"}
    )
    with TestClient(create_app(capped)) as client:
        auth = {"Authorization": "Bearer t"}
        assert client.post("/jobs", json={"name": "a"}, headers=auth).status_code == 202
        full = client.post("/jobs", json={"name": "b"}, headers=auth)
        assert full.status_code == 429 and full.headers["retry-after"] == "60"
        assert "queued" in full.json()["detail"]
        assert client.get("/jobs").json()["total"] == 1
