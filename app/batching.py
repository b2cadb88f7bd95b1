"""Dynamic batching: concurrent requests share one generator call, off the event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.metrics import Metrics
from app.registry import ModelVersion

log = logging.getLogger("app")


class Overloaded(Exception):
    """The queue is full; the client should retry later."""


@dataclasses.dataclass
class _Item:
    model: ModelVersion
    noise: np.ndarray
    labels: np.ndarray | None
    future: asyncio.Future


class Batcher:
    """Queues generation requests and runs them in batches on one generator thread.

    While a call runs, new requests queue up and form the next batch; a batch also waits up to
    `max_wait_ms` for more when traffic is concurrent. At most `max_images` images per batch;
    requests for different models in one batch get one call per model.
    """

    def __init__(self, max_images: int, max_wait_ms: float, queue_limit: int, metrics: Metrics):
        self.max_images = max_images
        self.max_wait = max_wait_ms / 1000
        self.metrics = metrics
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_limit)
        # One thread: TensorFlow already spreads a call over the cores.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="generator")
        self._task: asyncio.Task | None = None
        self._last_batch_requests = 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def generate(
        self, model: ModelVersion, noise: np.ndarray, labels: np.ndarray | None
    ) -> np.ndarray:
        """uint8 pixels [N, 28, 28] for these inputs; raises Overloaded when the queue is full."""
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Item(model, noise, labels, future))
        except asyncio.QueueFull:
            self.metrics.queue_rejected.inc()
            raise Overloaded from None
        self.metrics.queue_depth.set(self._queue.qsize())
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        carry: _Item | None = None
        while True:
            first = carry or await self._queue.get()
            batch, carry = await self._collect(first)
            self._last_batch_requests = len(batch)
            self.metrics.queue_depth.set(self._queue.qsize())
            for model, items in _by_model(batch):
                try:
                    pixels = await loop.run_in_executor(self._executor, _call, model, items)
                except Exception as exc:
                    log.exception("generator call failed for %s", model.ref)
                    for item in items:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
                self.metrics.observe_batch(model.ref, len(items), len(pixels))
                start = 0
                for item in items:
                    if not item.future.done():  # the client may have gone away
                        item.future.set_result(pixels[start : start + len(item.noise)])
                    start += len(item.noise)

    async def _collect(self, first: _Item) -> tuple[list[_Item], _Item | None]:
        """`first`, what is already queued, and, when traffic is concurrent (several requests
        queued now or in the last batch), what arrives within max_wait; the first item that
        does not fit is carried over.

        The last batch's clients send their next requests a few milliseconds apart once it
        answers them: waiting for them saves generator calls, and images in one call share the
        cores (one image alone ~4 ms here, ~2 ms each in a call of 8). A lone client's request
        goes at once.
        """
        batch, total = [first], len(first.noise)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while total < self.max_images:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                lone = len(batch) == 1 and self._last_batch_requests == 1
                if lone or remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if total + len(item.noise) > self.max_images:
                return batch, item
            batch.append(item)
            total += len(item.noise)
        return batch, None


def _by_model(batch: list[_Item]) -> list[tuple[ModelVersion, list[_Item]]]:
    groups: dict[int, tuple[ModelVersion, list[_Item]]] = {}
    for item in batch:
        groups.setdefault(id(item.model), (item.model, []))[1].append(item)
    return list(groups.values())


def _call(model: ModelVersion, items: list[_Item]) -> np.ndarray:
    noise = np.concatenate([item.noise for item in items])
    labels = None
    if model.conditional:
        labels = np.concatenate([item.labels for item in items])  # run_generator casts
    return model.generate(noise, labels)
