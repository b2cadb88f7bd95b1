"""Prometheus metrics, one registry per app (each process of `dcgan-serve --workers N` answers
/metrics with its own), and the ASGI middleware that feeds them."""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

from app.jobs.schema import FINISHED, JobState

log = logging.getLogger("app")
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# A quick recipe takes minutes, the quality one hours (on CPU).
JOB_SECONDS_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)
STORE_SECONDS = 5.0  # a scrape waits this long for the job store, then reports it down


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        # process_* (CPU, memory, file descriptors) and python_* (GC, version): the default
        # registry's collectors read this process, so one instance serves every registry.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)
        self._jobs: _JobCollector | None = None
        self.requests = Counter(
            "dcgan_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "dcgan_http_request_duration_seconds", "HTTP latency", ["route"], registry=r
        )
        self.images = Counter("dcgan_images_generated", "Images generated", ["model"], registry=r)
        self.batch_requests = Histogram(
            "dcgan_batch_requests", "Requests per generator call", buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_images = Histogram(
            "dcgan_batch_images", "Images per generator call", buckets=BATCH_BUCKETS, registry=r
        )
        self.cache_hits = Counter(
            "dcgan_cache_hits", "Rendered images served from cache", registry=r
        )
        self.cache_misses = Counter(
            "dcgan_cache_misses", "Rendered images not in cache", registry=r
        )
        self.queue_rejected = Counter(
            "dcgan_queue_rejected", "Requests refused with 503", registry=r
        )
        self.in_progress = Gauge(
            "dcgan_http_requests_in_progress", "HTTP requests being answered", registry=r
        )
        self.queue_depth = Gauge(
            "dcgan_queue_depth", "Requests waiting for the generator", registry=r
        )

    def watch_models(self, models) -> None:
        """Export how each loaded version generates, read from `models` (a ModelRegistry)."""
        self.registry.register(_GenerationCollector(models))

    def watch_jobs(self, store, runner=None) -> None:
        """Export jobs by state and their run times from `store` (a JobStore), read at each
        scrape, and the restarts of `runner` (a JobRunner in this process, if any)."""
        self._jobs = _JobCollector(store, runner)
        self.registry.register(self._jobs)

    def observe_batch(self, model: str, requests: int, images: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_images.observe(images)
        self.images.labels(model).inc(images)

    async def render(self) -> bytes:
        if self._jobs is not None:
            await self._jobs.refresh()
        return generate_latest(self.registry)


class _GenerationCollector:
    def __init__(self, models):
        self.models = models

    def collect(self):
        family = GaugeMetricFamily(
            "dcgan_generation_mode",
            "1 for each loaded model version: its generation mode, call sizes and precision",
            labels=["model", "mode", "call_sizes", "precision"],
        )
        for versions in self.models.versions.values():
            for version in versions.values():
                if version.generator is not None:
                    g = version.generator.describe()
                    sizes = ",".join(map(str, g["call_sizes"])) or "-"
                    family.add_metric([version.ref, g["mode"], sizes, g["precision"]], 1)
        yield family


class _JobCollector:
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


class MetricsMiddleware:
    """Counts requests and latency by route template (so /jobs/7 and /jobs/8 are one route)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        root_path = scope.get("root_path", "")  # as it is before routing
        status = 500
        self.metrics.in_progress.inc()

        async def send_and_record(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_progress.dec()
            route = route_template(scope, root_path)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)


def route_template(scope, root_path: str) -> str:
    """The template of the route that answered `scope`, a bounded set of labels. FastAPI's
    routes leave themselves in the scope; Starlette's (FastAPI's /docs, /openapi.json) only
    their endpoint, and a mount (/static) its path, appended to the root_path."""
    if "route" in scope:
        return scope["route"].path
    mounted = scope.get("root_path", "")
    if mounted != root_path:
        return mounted.removeprefix(root_path) + "/{path}"
    if "endpoint" in scope and not scope.get("path_params"):
        return scope["path"]  # a route without parameters: its path is its template
    return "unmatched"
