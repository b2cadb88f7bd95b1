"""The jobs' Prometheus metrics: jobs by state and their run times, read from the job store at
each scrape, and the job runner's restarts (registered with `Metrics.watch`)."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from app.jobs.schema import FINISHED, JobState

log = logging.getLogger("app")
# A quick recipe takes minutes, the quality one hours (on CPU).
JOB_SECONDS_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)
STORE_SECONDS = 5.0  # a scrape waits this long for the job store, then reports it down


class JobCollector:
    """Jobs come from the shared store, so every replica exports the same numbers (aggregate
    them with max, not sum). The store is read off the event loop, at most once at a time."""

    def __init__(self, store, runner):
        self.store, self.runner = store, runner
        self.rows: list[dict] | None = None  # the last read's; None: the store did not answer
        self._reading: asyncio.Future | None = None

    async def refresh(self) -> None:
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(
                self.store.call(self.store.job_stats, JOB_SECONDS_BUCKETS)
            )
        try:
            self.rows = await asyncio.wait_for(asyncio.shield(self._reading), STORE_SECONDS)
        except Exception as exc:
            log.warning("metrics: the job store did not answer: %s", exc or type(exc).__name__)
            self.rows = None

    def collect(self):
        up = GaugeMetricFamily("dcgan_job_store_up", "1 if the job store answered this scrape")
        up.add_metric([], float(self.rows is not None))
        yield up
        if self.runner is not None:
            yield CounterMetricFamily(
                "dcgan_job_runner_restarts",
                "Times this process's job runner died and was restarted",
                value=getattr(self.runner, "restarts", 0),
            )
        if self.rows is None:
            return
        rows = {row["state"]: row for row in self.rows}
        jobs = GaugeMetricFamily("dcgan_jobs", "Jobs in the job store", labels=["state"])
        seconds = HistogramMetricFamily(
            "dcgan_job_duration_seconds",
            "Run time of the finished jobs in the store, first start to end (deleting jobs "
            "lowers it: read it with histogram_quantile, not rate)",
            labels=["state"],
        )
        for state in JobState:
            row = rows.get(state, {})
            jobs.add_metric([state], row.get("jobs", 0))
            if state in FINISHED:
                buckets = [
                    (floatToGoString(bound), row.get(f"le_{i}", 0))
                    for i, bound in enumerate(JOB_SECONDS_BUCKETS)
                ]
                buckets.append(("+Inf", row.get("timed", 0)))
                seconds.add_metric([state], buckets, sum_value=row.get("seconds", 0))
        yield jobs
        yield seconds
