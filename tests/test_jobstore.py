from app.jobstore import JobStore


def test_jobs_and_events_persist_with_increasing_ids(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first, second = store.create({"name": "a"}), store.create({"name": "b"})
    assert (first["id"], first["state"], first["params"]) == (1, "queued", {"name": "a"})
    assert [store.add_event(1, "state", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert store.add_event(2, "state", {}) == 1  # ids count per job
    store.update(1, state="running", progress={"epoch": 2})
    store.close()

    reopened = JobStore(tmp_path / "jobs.db")
    assert reopened.get(1)["progress"] == {"epoch": 2}
    assert [e[0] for e in reopened.events_after(1, 1)] == [2, 3]
    page, total = reopened.list(limit=1, offset=0)
    assert total == 2 and page[0]["id"] == second["id"]  # newest first
    assert reopened.next_queued()["id"] == 2 and reopened.in_state("running")[0]["id"] == 1
    assert reopened.get(99) is None
