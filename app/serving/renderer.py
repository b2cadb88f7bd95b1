"""Rendering an image response's body: the LRU cache in front of the batched generator."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import numpy as np
from starlette.concurrency import run_in_threadpool

from app.metrics import Metrics
from app.serving.batching import Batcher
from app.serving.cache import ImageCache
from app.serving.registry import ModelVersion


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """One image to render. Equal keys must mean equal bytes, so the key names the model
    version, its fingerprint and every normalized parameter; the noise is drawn on a miss only."""

    key: str
    version: ModelVersion
    noise: Callable[[], np.ndarray]
    labels: np.ndarray | None
    encode: Callable[[np.ndarray], bytes]
    media_type: str
    # Encoding up to 16 tiles takes well under a millisecond: cheaper on the event loop than
    # the hop to a worker thread (n=1 at concurrency 8: ~0.5 ms less CPU a request, measured).
    small: bool = False
    latent: bool = False  # noise() gives latent codes (Generator.latent's), not noise


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
        self, spec: ImageSpec, cacheable: bool, gone: Callable[[], Awaitable[None]] | None = None
    ) -> bytes:
        """The encoded image; raises batching.Overloaded when the generator queue is full, and
        ClientGone (without generating) when `gone()` completes first: the client disconnected."""
        body = self.cache.get(spec.key) if cacheable else None
        (self.metrics.cache_misses if body is None else self.metrics.cache_hits).inc()
        if body is not None:
            return body
        generator = spec.version.generator
        generator = generator.from_latent if spec.latent else generator
        work = self.batcher.generate(generator, spec.noise(), spec.labels)
        pixels = await work if gone is None else await _unless(work, gone())
        if spec.small:
            body = spec.encode(pixels)
        else:
            body = await run_in_threadpool(spec.encode, pixels)
        if cacheable:
            self.cache.put(spec.key, body)
        return body
