"""/metrics: the process and Python collectors, routes by template (docs and static files too),
and the job metrics read from the job store at scrape time."""

from __future__ import annotations

import asyncio
import sqlite3

from prometheus_client.parser import text_string_to_metric_families

from app.jobs.metrics import JobCollector
from app.jobs.schema import JobState
from app.jobs.store import JobStore
from app.metrics import Metrics


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_has_process_and_python_series(client):
    text = client.get("/metrics").text
    found = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    assert {"process_resident_memory_bytes", "process_open_fds", "python_info"} <= found
    assert "python_gc_collections_total" in found


def test_docs_schema_and_static_files_are_labelled_by_their_route(client):
    for path in ("/docs", "/redoc", "/openapi.json", "/static/style.css", "/static/main.js"):
        assert client.get(path).status_code == 200, path
    assert client.get("/static/nothing.js").status_code == 404
    client.get("/no/such/page")
    got = samples(client.get("/metrics").text)

    def count(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return got.get(("dcgan_http_requests_total", labels), 0)

    for route in ("/docs", "/redoc", "/openapi.json"):
        assert count(route, "200") >= 1, route
    assert count("/static/{path}", "200") >= 2 and count("/static/{path}", "404") >= 1
    assert count("unmatched", "404") >= 1  # a path no route serves: one label for them all


def test_the_service_exports_jobs_and_its_runners_restarts(client):
    text = client.get("/metrics").text
    got = samples(text)
    assert got[("dcgan_job_store_up", ())] == 1
    assert got[("dcgan_job_runner_restarts_total", ())] >= 0  # the embedded runner's
    for state in JobState:
        assert ("dcgan_jobs", (("state", state),)) in got


def test_job_counts_and_durations_come_from_the_store(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    quick, slow, failed, running, _ = (store.create({"name": f"j{i}"}) for i in range(5))
    for _ in (quick, slow, failed, running):
        store.claim("w1")
    store.set_state(quick.id, JobState.SUCCEEDED)
    store.set_state(slow.id, JobState.SUCCEEDED)
    store.set_state(failed.id, JobState.FAILED)
    with sqlite3.connect(tmp_path / "jobs.db") as db:  # slow ran 400 s
        db.execute("UPDATE jobs SET started_at = finished_at - 400 WHERE id = ?", (slow.id,))
    metrics = Metrics()
    metrics.watch(JobCollector(store, runner=None))
    got = samples(asyncio.run(metrics.render()).decode())
    store.close()

    def value(name: str, **labels) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert value("dcgan_jobs", state="queued") == 1 and value("dcgan_jobs", state="running") == 1
    assert value("dcgan_jobs", state="succeeded") == 2 and value("dcgan_jobs", state="failed") == 1
    assert value("dcgan_jobs", state="cancelled") == 0
    seconds = "dcgan_job_duration_seconds"
    assert value(f"{seconds}_bucket", state="succeeded", le="60.0") == 1  # quick
    assert value(f"{seconds}_bucket", state="succeeded", le="300.0") == 1
    assert value(f"{seconds}_bucket", state="succeeded", le="900.0") == 2  # and slow
    assert value(f"{seconds}_count", state="succeeded") == 2
    assert 400 <= value(f"{seconds}_sum", state="succeeded") < 401
    assert value(f"{seconds}_count", state="failed") == 1
    assert (f"{seconds}_count", (("state", "running"),)) not in got  # finished jobs only
    assert ("dcgan_job_runner_restarts_total", ()) not in got  # no runner here


def test_a_store_that_fails_is_reported_down_and_the_rest_still_served(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    metrics = Metrics()
    metrics.watch(JobCollector(store, runner=None))
    store.close()  # every query now raises
    got = samples(asyncio.run(metrics.render()).decode())
    assert got[("dcgan_job_store_up", ())] == 0
    assert not any(name == "dcgan_jobs" for name, _ in got)
    assert ("process_resident_memory_bytes", ()) in got
