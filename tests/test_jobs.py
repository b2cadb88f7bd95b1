"""The jobs façade and the runner's pieces that need no trainer process."""

import asyncio
import logging
import shutil
import sqlite3
import time

import pytest

from app.config import Settings
from app.jobs.run import JobRun
from app.jobs.runner import JobRunner
from app.jobs.schema import JobParams, JobState
from app.jobs.service import JobConflict, Jobs, NoSuchJob, QueueFull
from app.jobs.store import JobStore
from app.serving.generator import Options
from app.serving.registry import ModelRegistry
from tests.conftest import fill, small_disk
from tests.test_jobstore import hold_sqlite_lock


@pytest.fixture
def jobs(tmp_path):
    async def make():
        return Jobs(JobStore(tmp_path / "jobs.db"), tmp_path, max_queued=2)

    return asyncio.run(make())


async def until(check, timeout: float, what: str):
    """check()'s first truthy value, polled every 0.05 s; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_create_list_cancel_delete_and_the_queue_cap(jobs):
    async def scenario():
        first = await jobs.create(JobParams(name="a"))
        assert first.state == "queued" and first.cancellable and not first.deletable
        await jobs.create(JobParams(name="b"))
        with pytest.raises(QueueFull):
            await jobs.create(JobParams(name="c"))
        with pytest.raises(JobConflict, match="cancel it first"):
            await jobs.delete(first.id)
        cancelled = await jobs.cancel(first.id)
        assert cancelled.state == "cancelled" and not cancelled.resumable  # nothing saved
        with pytest.raises(JobConflict, match="no checkpoint"):
            await jobs.resume(first.id)
        jobs.paths(first.id).checkpoints.mkdir(parents=True)
        (jobs.paths(first.id).checkpoints / "checkpoint").write_text("")
        assert (await jobs.get(first.id)).resumable
        await jobs.delete(first.id)
        assert not jobs.paths(first.id).root.exists()
        with pytest.raises(NoSuchJob):
            await jobs.get(first.id)
        page, total = await jobs.page(10, 0)
        assert total == 1 and page[0].params["name"] == "b"

    asyncio.run(scenario())


def test_follow_streams_what_is_written_and_ends_with_the_job(jobs):
    async def scenario():
        job = await jobs.create(JobParams(name="a"))
        seen = asyncio.Queue()

        async def follower():
            async for event_id, kind, data in jobs.follow(job.id, 0):
                await seen.put((event_id, kind, data.get("state")))

        task = asyncio.create_task(follower())
        assert await asyncio.wait_for(seen.get(), 5) == (1, "state", "queued")
        await jobs.emit(job.id, "epoch", {"epoch": 1})
        assert await asyncio.wait_for(seen.get(), 5) == (2, "epoch", None)
        await jobs.set_state(job.id, JobState.FAILED, "trainer exited with status 1: /a/b/x")
        await asyncio.wait_for(task, 5)  # the job has ended: so has the stream
        assert seen.get_nowait() == (3, "state", "failed") and seen.empty()
        assert (await jobs.get(job.id)).error == "trainer exited with status 1: …/x"

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
        job = await jobs.create(JobParams(name="dcgan", activate=True))
        await JobRun(runner, jobs.store.get(job.id))._accept(JobParams(**job.params), 3)
        return registry, await jobs.get(job.id)

    registry, job = asyncio.run(scenario())
    assert registry.active["dcgan"] == 2
    assert registry.versions["dcgan"][3].status == "failed"
    assert job.state == "failed" and job.error.startswith("export dcgan@3 failed to load")


def runner_on(tmp_path, **settings) -> JobRunner:
    """A runner on its own data folder; a registry that never loads (no job here exports)."""
    settings = Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data", **settings)
    jobs = Jobs(JobStore(settings.data_dir / "jobs.db"), settings.data_dir, 5)
    registry = ModelRegistry(settings.models_dir, "dcgan", eager=False)
    return JobRunner(jobs, settings, registry, "test", serving=False)


@pytest.mark.slow
def test_a_locked_database_holds_the_job_until_it_is_released_and_loses_nothing(tmp_path):
    """Another process holds SQLite's write lock for longer than a statement waits: the runner
    logs, waits and tries again, says so meanwhile, and ends the job once the lock is gone (a
    missing MNIST fails it at once, with no trainer to start)."""

    async def scenario():
        runner = runner_on(tmp_path, mnist_path=tmp_path / "missing.npz")
        job = await runner.jobs.create(JobParams(name="a"))
        store = runner.jobs.store
        with hold_sqlite_lock(store.path, seconds=None) as locker:
            runner.start()
            trouble = await until(runner.problem, 30, "the runner reports the lock")
            assert store.get(job.id).state == "queued"  # its claim waits
            await asyncio.to_thread(locker.communicate)  # released once the runner said so
        done = await until(
            lambda: (now := store.get(job.id)).state == "failed" and now, 30, "the job ended"
        )
        await until(lambda: runner.problem() is None, 30, "the runner is well again")
        await runner.stop()
        return trouble, done

    trouble, done = asyncio.run(scenario())
    assert "database is locked" in trouble
    assert done.error.startswith("no MNIST at …/missing.npz")


@pytest.mark.slow
def test_a_runner_loop_that_dies_is_started_again_and_counted(tmp_path):
    """A row no runner can read (edited by hand) kills the loop at each claim; once repaired, the
    restarted loop recovers the job it had claimed."""

    async def scenario():
        runner = runner_on(tmp_path)
        with sqlite3.connect(runner.jobs.store.path) as db:
            db.execute(
                "INSERT INTO jobs (params, state, created_at) VALUES ('{not json', 'queued', 0)"
            )
        runner.start()
        dead = await until(runner.problem, 30, "the runner says it stopped")
        await until(lambda: runner.restarts >= 1, 30, "a restart")
        with sqlite3.connect(runner.jobs.store.path) as db:
            db.execute("""UPDATE jobs SET params = '{"name": "a"}'""")
        await until(lambda: runner.jobs.store.get(1).state == "interrupted", 30, "job 1 recovered")
        await until(lambda: runner.problem() is None, 30, "the runner is well again")
        assert not runner.task.done()
        await runner.stop()
        return dead

    dead = asyncio.run(scenario())
    assert dead.startswith("the job runner stopped: JSONDecodeError")


def test_a_job_whose_row_is_gone_ends_its_run_and_not_its_runner(tmp_path, caplog):
    """A running job deleted by hand while its runner recovers it: the run ends, saying so."""

    async def scenario():
        runner = runner_on(tmp_path)
        store = runner.jobs.store
        await runner.jobs.create(JobParams(name="a"))
        claimed = store.claim("test")
        store.delete(claimed.id)
        await runner._hold(JobRun(runner, claimed), JobRun.recover)

    logger = logging.getLogger("app")
    logger.addHandler(caplog.handler)  # the service's set-up stops propagation to the root
    try:
        asyncio.run(scenario())
    finally:
        logger.removeHandler(caplog.handler)
    assert "job 1 is no longer in the store: its run ends" in caplog.text


def test_a_fresh_database_moves_the_old_jobs_folders_aside(tmp_path):
    (tmp_path / "jobs.db").write_bytes(b"this is not a database " * 200)
    (tmp_path / "jobs" / "1" / "run" / "checkpoints").mkdir(parents=True)

    async def scenario():
        jobs = Jobs(JobStore(tmp_path / "jobs.db"), tmp_path, max_queued=2)
        return await jobs.create(JobParams(name="a"))

    job = asyncio.run(scenario())
    assert job.id == 1 and not (tmp_path / "jobs" / "1").exists()  # a new job 1, from scratch
    aside = [p.name for p in tmp_path.glob("jobs.corrupt-*")]
    assert len(aside) == 1 and (tmp_path / aside[0] / "1" / "run" / "checkpoints").is_dir()


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


def test_a_full_disk_is_a_507_that_says_so(settings, tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with small_disk(tmp_path / "disk", "2m") as disk:
        update = {"data_dir": disk, "max_queued_jobs": 1000, "run_jobs": "off"}
        with TestClient(create_app(settings.model_copy(update=update))) as client:
            filler = fill(disk)
            answers = [client.post("/jobs", json={"name": f"n{i}"}) for i in range(200)]
            refused = next(a for a in answers if a.status_code != 202)
            assert refused.status_code == 507, refused.text
            assert refused.json()["detail"].startswith("the server's disk is full")
            listed = client.get("/jobs?limit=1").json()["total"]
            assert listed == sum(a.status_code == 202 for a in answers)  # none half-made
            filler.unlink()
            assert client.post("/jobs", json={"name": "after"}).status_code == 202
