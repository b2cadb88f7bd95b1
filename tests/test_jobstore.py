"""The job store on SQLite (PostgreSQL runs the same tests in test_scale.py)."""

import contextlib
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.jobs.schema import JobRecord, JobState
from app.jobs.store import JobStore, QueueFull, StoreUnavailable

LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
if sys.argv[2] == "until-told":
    sys.stdin.read()  # until the test closes our stdin
else:
    time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@contextlib.contextmanager
def hold_sqlite_lock(path: Path, seconds: float | None) -> Iterator[subprocess.Popen]:
    """Another process holding the database's write lock for `seconds` (from when this yields),
    or, with None, until the caller releases it (`locker.communicate()`); it is killed on exit
    if it still runs."""
    hold = "until-told" if seconds is None else str(seconds)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path), hold],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout.readline() == "locked\n"
        yield locker
    finally:
        locker.kill()
        locker.wait()


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    yield store
    store.close()


def check_store(store: JobStore) -> None:
    """Behaviour both dialects share."""
    first, second = store.create({"name": "a"}), store.create({"name": "b"}, event=("x", {}))
    assert first == JobRecord(first.id, {"name": "a"}, JobState.QUEUED, first.created_at)
    assert store.get(first.id) == first  # typed alike, whichever statement returned the row
    assert [store.add_event(first.id, "state", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert store.add_event(second.id, "state", {}) == 2  # ids count per job
    assert [e[0] for e in store.events_after(first.id, 1)] == [2, 3]
    page, total = store.page(limit=1, offset=0)
    assert total == 2 and page[0].id == second.id  # newest first
    with pytest.raises(QueueFull):
        store.create({"name": "c"}, max_queued=2)

    claimed = store.claim("w1")
    assert claimed.id == first.id and claimed.state is JobState.RUNNING
    assert claimed.worker == "w1" and store.claim("w2").id == second.id
    assert store.claim("w3") is None
    assert store.heartbeat(first.id, "w1") and not store.heartbeat(first.id, "w2")
    assert store.request_cancel(first.id) and store.get(first.id).cancel_requested is True
    store.set_state(first.id, JobState.CANCELLED)
    job = store.get(first.id)
    assert job.finished_at and job.cancel_requested is False
    assert store.finished_before(time.time() + 1) == [first.id]

    assert store.stale(time.time() - 60) == []
    assert [j.id for j in store.stale(time.time() + 1)] == [second.id]
    assert store.take_over(second.id, "w9", time.time() + 1)
    assert not store.take_over(second.id, "w8", time.time() - 60)  # fresh again
    assert [j.id for j in store.running_on("w9")] == [second.id]

    store.set_progress(second.id, {"epoch": 2}, events_offset=123)
    store.set_model_version(second.id, "b@1")
    job = store.get(second.id)
    assert (job.progress, job.events_offset, job.model_version) == ({"epoch": 2}, 123, "b@1")
    store.delete(first.id)
    assert store.get(first.id) is None and store.events_after(first.id, 0) == []
    assert store.get(10**9) is None


def test_sqlite_store(store):
    assert store._one("PRAGMA journal_mode")["journal_mode"] == "wal"
    check_store(store)


def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path):
    path = tmp_path / "jobs.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, params TEXT NOT NULL, "
        "state TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL, "
        "progress TEXT NOT NULL DEFAULT '{}', error TEXT, model_version TEXT);"
        "CREATE TABLE events (job_id INTEGER NOT NULL REFERENCES jobs(id), id INTEGER NOT NULL, "
        "type TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job_id, id));"
        """INSERT INTO jobs (params, state, created_at) VALUES ('{"name": "-x"}', 'failed', 1);"""
        """INSERT INTO events VALUES (1, 1, 'state', '{"state": "queued"}');"""
    )
    old.commit()
    old.close()
    store = JobStore(path)
    assert store.get(1).params == {"name": "-x"} and store.get(1).events_offset == 0
    assert store.add_event(1, "state", {}) == 2
    JobStore(path).close()  # migrating twice changes nothing
    assert store._one("SELECT MAX(version) AS v FROM schema_version")["v"] == 2


@pytest.mark.slow
def test_a_database_locked_by_another_process_is_unavailable_for_writes_only(store):
    job = store.create({"name": "a"})
    with hold_sqlite_lock(store.path, seconds=30):
        assert store.get(job.id).state == "queued"  # WAL: readers go on
        with pytest.raises(StoreUnavailable, match="database is locked"):
            store.claim("w1")
        with pytest.raises(StoreUnavailable):
            store.ping()
    assert store.claim("w1").id == job.id  # released: nothing was half-done
    store.ping()


def test_each_thread_has_its_own_connection_and_transactions_do_not_mix(store):
    """Writers on four threads at once: every job and event is there, numbered once."""

    def write(name: str) -> None:
        job = store.create({"name": name})
        for i in range(20):
            store.add_event(job.id, "n", {"i": i})

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    jobs, total = store.page(10, 0)
    assert total == 4
    for job in jobs:
        assert [e[0] for e in store.events_after(job.id, 0)] == list(range(1, 21))


def corrupted(path: Path) -> None:
    """A real database with pages overwritten in the middle, as a bad disk leaves one."""
    store = JobStore(path)
    for i in range(200):
        store.create({"name": f"j{i}", "padding": "x" * 500})
    store.close()
    with sqlite3.connect(path) as db:  # fold the WAL into the file, then damage the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[8192:16384] = b"\xff" * 8192
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_a_corrupt_database_is_moved_aside_and_a_fresh_one_started(tmp_path, damage, caplog):
    path = tmp_path / "jobs.db"
    if damage == "garbage":
        path.write_bytes(b"this is not a database " * 200)
    else:
        corrupted(path)
    before = path.read_bytes()
    logger = logging.getLogger("app")
    logger.addHandler(caplog.handler)  # the service's set-up stops propagation to the root
    try:
        store = JobStore(path)
    finally:
        logger.removeHandler(caplog.handler)
    aside = store.set_aside
    assert aside.parent == tmp_path and aside.name.startswith("jobs.db.corrupt-")
    assert aside.read_bytes() == before  # moved, not changed (its -wal and -shm beside it)
    assert f"{path} is corrupt" in caplog.text and aside.name in caplog.text
    assert store.create({"name": "a"}).id == 1
    store.close()
    assert JobStore(path).set_aside is None  # the fresh one is sound
