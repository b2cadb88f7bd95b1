"""The job store on SQLite (PostgreSQL runs the same tests in test_scale.py)."""

import sqlite3
import time

import pytest

from app.jobschema import JobState
from app.jobstore import JobStore, QueueFull


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    yield store
    store.close()


def check_store(store: JobStore) -> None:
    """Behaviour both dialects share."""
    first, second = store.create({"name": "a"}), store.create({"name": "b"})
    assert (first["state"], first["params"]) == ("queued", {"name": "a"})
    assert [store.add_event(first["id"], "state", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert store.add_event(second["id"], "state", {}) == 1  # ids count per job
    assert [e[0] for e in store.events_after(first["id"], 1)] == [2, 3]
    page, total = store.list(limit=1, offset=0)
    assert total == 2 and page[0]["id"] == second["id"]  # newest first
    with pytest.raises(QueueFull):
        store.create({"name": "c"}, max_queued=2)

    claimed = store.claim("w1")
    assert claimed["id"] == first["id"] and claimed["state"] == "running"
    assert claimed["worker"] == "w1" and store.claim("w2")["id"] == second["id"]
    assert store.claim("w3") is None
    assert store.heartbeat(first["id"], "w1") and not store.heartbeat(first["id"], "w2")
    assert store.request_cancel(first["id"]) and store.get(first["id"])["cancel_requested"]
    store.set_state(first["id"], JobState.CANCELLED)
    job = store.get(first["id"])
    assert job["finished_at"] and not job["cancel_requested"]
    assert store.finished_before(time.time() + 1) == [first["id"]]

    assert store.stale(time.time() - 60) == []
    assert [j["id"] for j in store.stale(time.time() + 1)] == [second["id"]]
    assert store.take_over(second["id"], "w9", time.time() + 1)
    assert not store.take_over(second["id"], "w8", time.time() - 60)  # fresh again
    assert [j["id"] for j in store.running_on("w9")] == [second["id"]]

    store.set_progress(second["id"], {"epoch": 2})
    store.set_events_offset(second["id"], 123)
    store.set_model_version(second["id"], "b@1")
    job = store.get(second["id"])
    assert (job["progress"], job["events_offset"], job["model_version"]) == (
        {"epoch": 2},
        123,
        "b@1",
    )
    store.delete(first["id"])
    assert store.get(first["id"]) is None and store.events_after(first["id"], 0) == []
    assert store.get(10**9) is None


def test_sqlite_store(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
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
    assert store.get(1)["params"] == {"name": "-x"} and store.get(1)["events_offset"] == 0
    assert store.add_event(1, "state", {}) == 2
    JobStore(path).close()  # migrating twice changes nothing
    assert store.db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 2
