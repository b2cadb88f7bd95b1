"""Prometheus metrics, one registry per app (each process of `dcgan-serve --workers N` answers
/metrics with its own), and the ASGI middleware that feeds them."""

from __future__ import annotations

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
from prometheus_client.core import GaugeMetricFamily

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        # process_* (CPU, memory, file descriptors) and python_* (GC, version): the default
        # registry's collectors read this process, so one instance serves every registry.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)
        self._refreshed: list = []  # collectors whose `refresh()` is awaited before a scrape
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

    def watch(self, collector) -> None:
        """Export what `collector` yields at each scrape, after awaiting its `refresh()` (for
        numbers read from elsewhere, such as the job store: app/jobs/metrics.py)."""
        self._refreshed.append(collector)
        self.registry.register(collector)

    def observe_batch(self, model: str, requests: int, images: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_images.observe(images)
        self.images.labels(model).inc(images)

    async def render(self) -> bytes:
        for collector in self._refreshed:
            await collector.refresh()
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
