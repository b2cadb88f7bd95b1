"""Rendering an image response's body: the LRU cache in front of the batched generator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from app.metrics import Metrics
from app.serving.batching import Batcher
from app.serving.cache import ImageCache
from app.serving.images import AnyImage


class ClientGone(Exception):
    """The client disconnected before its image was made."""


async def _unless(work: Awaitable, gone: Awaitable):
    """The result of `work`, unless `gone` completes first (then `work` is cancelled)."""
    work_task, gone_task = asyncio.ensure_future(work), asyncio.ensure_future(gone)
    try:
        await asyncio.wait({work_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone_task.cancel()
    if not work_task.done():
        work_task.cancel()
        raise ClientGone
    return work_task.result()


class Renderer:
    """Looks bodies up in the cache, else generates (batched) and encodes them off the loop."""

    def __init__(self, batcher: Batcher, cache: ImageCache, metrics: Metrics):
        self.batcher, self.cache, self.metrics = batcher, cache, metrics

    async def render(
        self,
        image: AnyImage,
        cacheable: bool,
        gone: Callable[[], Awaitable[None]] | None = None,
    ) -> bytes:
        """The encoded image; raises batching.Overloaded when the generator queue is full, and
        ClientGone (without generating) when `gone()` completes first: the client disconnected."""
        body = self.cache.get(image.key) if cacheable else None
        (self.metrics.cache_misses if body is None else self.metrics.cache_hits).inc()
        if body is not None:
            return body
        generator = image.generator.from_latent if image.latent else image.generator
        work = self.batcher.generate(generator, image.noise(), image.labels)
        pixels = await work if gone is None else await _unless(work, gone())
        if image.small:
            body = image.encode(pixels)
        else:
            body = await run_in_threadpool(image.encode, pixels)
        if cacheable:
            self.cache.put(image.key, body)
        return body
