"""Prometheus metrics, one registry per app, and the ASGI middleware that feeds them."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
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

    def observe_batch(self, model: str, requests: int, images: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_images.observe(images)
        self.images.labels(model).inc(images)

    def render(self) -> bytes:
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
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
