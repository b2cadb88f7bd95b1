"""Dynamic batching: concurrent requests share generator calls, off the event loop, and the
queue holds no more work than can be done in `max_queue_seconds`.

Admission is by work, not by requests: each request's cost is estimated from its generator's
self-test timings (corrected by how long calls really take), and a request that would wait past
the bound is refused at once (Overloaded, with the wait to retry after) instead of queueing for
a client that will have given up. A request whose client has gone (its future cancelled) is
dropped before it is computed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from app.metrics import Metrics

log = logging.getLogger("app")


class Generates(Protocol):
    """What the batcher calls: a loaded Generator, or its FromLatent for walks."""

    ref: str

    def estimate(self, n: int, /) -> float: ...

    def __call__(self, rows: np.ndarray, labels: np.ndarray | None = None, /) -> np.ndarray: ...


class Overloaded(Exception):
    """The queue holds as much work as allowed; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"retry after {retry_after:.1f} s")
        self.retry_after = max(1, math.ceil(retry_after))


@dataclasses.dataclass
class _Item:
    generator: Generates
    noise: np.ndarray
    labels: np.ndarray | None
    future: asyncio.Future
    seconds: float  # estimated work


class Batcher:
    """Queues generation requests and runs them in batches on one generator thread.

    While a call runs, new requests queue up and form the next batch; a batch also waits up to
    `max_wait_ms` for more when traffic is concurrent. At most `max_images` images per batch;
    requests for different models in one batch get one call per model. A second call starts
    beside a running one only when a full batch is waiting: two small calls at once cost more
    than one call of both (docs/benchmarks.md, 'Full batches and a sub-pixel image layer').
    """

    def __init__(
        self,
        max_images: int,
        max_wait_ms: float,
        max_queue_seconds: float,
        metrics: Metrics,
        calls: int = 2,
    ):
        self.max_images, self.max_wait = max_images, max_wait_ms / 1000
        self.max_queue_seconds, self.metrics = max_queue_seconds, metrics
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        # Calls at once: TensorFlow spreads each over the cores, but a second call fills the
        # gaps of the first (its small ops, its Python), and the next batch forms meanwhile.
        self._executor = ThreadPoolExecutor(calls, thread_name_prefix="generator")
        self._slots = asyncio.Semaphore(calls)
        self._running = 0  # calls under way
        self._changed = asyncio.Event()  # a request queued or a call ended
        self._calls: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self._last_batch_requests = 1
        self._queued_seconds = 0.0  # estimated work waiting
        self._queued_images = 0
        self._in_flight = 0.0  # estimated work of the calls running
        self._speed = 1.0  # real / estimated seconds of a call, smoothed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        for task in (self._task, *self._calls):
            if task:
                task.cancel()
        await asyncio.gather(*filter(None, (self._task, *self._calls)), return_exceptions=True)
        self._executor.shutdown(wait=True)

    def wait_seconds(self) -> float:
        """How long a request queued now would wait for the generator, by estimate."""
        return (self._in_flight + self._queued_seconds) * self._speed

    async def generate(
        self, generator: Generates, noise: np.ndarray, labels: np.ndarray | None
    ) -> np.ndarray:
        """uint8 pixels [N, 28, 28]; raises Overloaded when the queue holds enough work.
        Cancelling the caller drops the request if it has not been computed yet."""
        seconds = generator.estimate(len(noise))
        wait = self.wait_seconds()
        if wait + seconds * self._speed > self.max_queue_seconds and self._queue.qsize():
            self.metrics.queue_rejected.inc()
            raise Overloaded(wait)
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(generator, noise, labels, future, seconds))
        self._queued_seconds += seconds
        self._queued_images += len(noise)
        self._changed.set()
        self.metrics.queue_depth.set(self._queue.qsize())
        return await future

    async def _run(self) -> None:
        carry: _Item | None = None
        while True:
            await self._slots.acquire()  # what queues while all calls run joins the next batch
            await self._full_batch_or_idle(len(carry.noise) if carry else 0)
            first = carry or await self._next()
            batch, carry = await self._collect(first)
            self._last_batch_requests = len(batch)
            self.metrics.queue_depth.set(self._queue.qsize())
            self._running += 1
            call = asyncio.create_task(self._compute(batch))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    async def _compute(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        try:
            for generator, items in _by_generator(batch):
                estimate = sum(item.seconds for item in items)
                self._in_flight += estimate
                started = time.monotonic()
                try:
                    pixels = await loop.run_in_executor(self._executor, _call, generator, items)
                except Exception as exc:
                    log.exception("generator call failed for %s", generator.ref)
                    for item in items:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
                finally:
                    self._in_flight -= estimate
                real = (time.monotonic() - started) / max(estimate, 1e-6)
                self._speed = 0.8 * self._speed + 0.2 * min(max(real, 0.2), 20.0)
                self.metrics.observe_batch(generator.ref, len(items), len(pixels))
                start = 0
                for item in items:
                    if not item.future.done():  # the client may have gone away
                        item.future.set_result(pixels[start : start + len(item.noise)])
                    start += len(item.noise)
        finally:
            self._running -= 1
            self._slots.release()
            self._changed.set()

    async def _full_batch_or_idle(self, carried: int) -> None:
        """Returns once no call runs or a full batch waits."""
        while self._running and self._queued_images + carried < self.max_images:
            self._changed.clear()
            await self._changed.wait()

    async def _next(self) -> _Item:
        """The next queued request whose client still waits."""
        while True:
            item = self._dequeued(await self._queue.get())
            if not item.future.done():
                return item

    def _next_nowait(self) -> _Item | None:
        while not self._queue.empty():
            item = self._dequeued(self._queue.get_nowait())
            if not item.future.done():
                return item
        return None

    def _dequeued(self, item: _Item) -> _Item:
        self._queued_seconds = max(self._queued_seconds - item.seconds, 0.0)
        self._queued_images -= len(item.noise)
        return item

    async def _collect(self, first: _Item) -> tuple[list[_Item], _Item | None]:
        """`first`, what is already queued, and, when traffic is concurrent (several requests
        queued now or in the last batch), what arrives within max_wait; the first item that
        does not fit is carried over. A lone client's request goes at once."""
        batch, total = [first], len(first.noise)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while total < self.max_images:
            item = self._next_nowait()
            if item is None:
                remaining = deadline - asyncio.get_running_loop().time()
                lone = len(batch) == 1 and self._last_batch_requests == 1
                if lone or remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._next(), remaining)
                except TimeoutError:
                    break
            if total + len(item.noise) > self.max_images:
                return batch, item
            batch.append(item)
            total += len(item.noise)
        return batch, None


def _by_generator(batch: list[_Item]) -> list[tuple[Generates, list[_Item]]]:
    groups: dict[int, tuple[Generates, list[_Item]]] = {}
    for item in batch:
        groups.setdefault(id(item.generator), (item.generator, []))[1].append(item)
    return list(groups.values())


def _call(generator: Generates, items: list[_Item]) -> np.ndarray:
    noise = np.concatenate([item.noise for item in items])
    labels = None if items[0].labels is None else np.concatenate([i.labels for i in items])
    return generator(noise, labels)
