import asyncio
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.metrics import Metrics
from app.serving.batching import Batcher
from app.serving.generator import Options, configure_precision
from app.serving.inputs import labels_for, noise_for
from app.serving.registry import ModelRegistry
from tests.conftest import QUIET_TF, ROOT, tiny_dcgan


def calls_and_requests(metrics: Metrics) -> tuple[float, float]:
    """Generator calls made so far, and the requests they served."""
    get = metrics.registry.get_sample_value
    return get("dcgan_batch_requests_count"), get("dcgan_batch_requests_sum")


def run_with_batcher(models_dir, max_wait_ms: float, scenario):
    """Runs scenario(generate) against a real batcher and the tiny dcgan@1; returns its metrics.

    (The 503 of a full queue and the rows of 50 concurrent requests are tested through HTTP in
    test_routes_generate.py.)"""
    version = tiny_dcgan(models_dir)

    async def main():
        metrics = Metrics()
        batcher = Batcher(64, max_wait_ms, 60, metrics)
        batcher.start()

        def generate(seed: int):
            return batcher.generate(version.generator, noise_for(seed, 1, version.noise_dim), None)

        try:
            await scenario(generate)
        finally:
            await batcher.stop()
        return metrics

    return asyncio.run(main())


def test_a_lone_clients_requests_go_at_once(models_dir):
    async def one_client(generate):
        for seed in range(3):  # a 60 s wait would trip the timeout
            await asyncio.wait_for(generate(seed), timeout=10)

    metrics = run_with_batcher(models_dir, 60_000, one_client)
    assert calls_and_requests(metrics) == (3, 3)


def test_after_a_shared_batch_a_request_waits_for_the_next(models_dir):
    async def two_clients(generate):
        await asyncio.gather(generate(1), generate(2))  # queued together: one call
        # the clients come back at different times, within max_wait: still one call
        first = asyncio.ensure_future(generate(3))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, generate(4))

    metrics = run_with_batcher(models_dir, 1000, two_clients)
    assert calls_and_requests(metrics) == (2, 4)


@pytest.fixture(scope="module")
def generators(models_dir) -> dict:
    """dcgan@1 and cdcgan@1 in this process's precision (DCGAN_TEST_PRECISION, as a subprocess
    of test_bfloat16_mixes_too sets it: the precision is process-wide)."""
    precision = os.environ.get("DCGAN_TEST_PRECISION", "float32")
    configure_precision(precision)
    registry = ModelRegistry(models_dir, "dcgan", Options(precision, "auto", 64))
    loaded = {name: registry.load(name, 1, models_dir / name / "1") for name in NAMES}
    return {name: Floats(version.generator) for name, version in loaded.items()}


NAMES = ("dcgan", "cdcgan")
REQUESTS = st.lists(
    st.tuples(st.sampled_from(NAMES), st.integers(1, 40), st.integers(0, 2**32 - 1)),
    min_size=1,
    max_size=10,
)


class Floats:
    """A generator seen through its floats: one differing bit fails, not only a grey level."""

    def __init__(self, generator):
        self.generator, self.ref, self.estimate = generator, generator.ref, generator.estimate

    def __call__(self, noise, labels):
        return self.generator.images(noise, labels)


@settings(max_examples=int(os.environ.get("DCGAN_TEST_EXAMPLES", 15)), deadline=None)
@given(requests=REQUESTS)
def test_any_mix_of_concurrent_requests_gets_the_images_each_gets_alone(generators, requests):
    def inputs(name, n, seed):
        labels = labels_for(n, None, None) if name == "cdcgan" else None
        return generators[name], noise_for(seed, n, 100), labels

    async def concurrently():
        batcher = Batcher(64, 5.0, 60, Metrics())
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.generate(*inputs(*r)) for r in requests))
        finally:
            await batcher.stop()

    for request, images in zip(requests, asyncio.run(concurrently())):
        generator, noise, labels = inputs(*request)
        np.testing.assert_array_equal(images, generator(noise, labels), err_msg=str(request))
        # and each image is the one computed alone, as a batch of one
        alone = generator.generator.alone(
            noise, np.zeros(len(noise), np.int32) if labels is None else labels
        )
        np.testing.assert_array_equal(images, alone, err_msg=str(request))
        assert images.dtype == np.float32 and images.shape == (request[1], 28, 28, 1)


@pytest.mark.slow
def test_bfloat16_mixes_too():
    """The property above, in a process that generates in bfloat16."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            f"{__file__}::test_any_mix_of_concurrent_requests_gets_the_images_each_gets_alone",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_TF, "DCGAN_TEST_PRECISION": "bfloat16"},
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout


class Gate:
    """A generator whose calls wait for `release`: which calls run side by side is observable."""

    ref = "gate@1"

    def __init__(self):
        self.release = threading.Event()
        self.calls: list[int] = []  # images per call, in the order calls started
        self.most_at_once, self._running, self._lock = 0, 0, threading.Lock()

    def estimate(self, n: int) -> float:
        return 0.001 * n

    def __call__(self, noise, labels):
        with self._lock:
            self.calls.append(len(noise))
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
        self.release.wait(10)
        with self._lock:
            self._running -= 1
        return np.zeros((len(noise), 28, 28), np.uint8)


def test_a_second_call_starts_only_for_a_full_batch():
    gate = Gate()

    async def main():
        batcher = Batcher(64, 0.0, 60, Metrics(), calls=2)
        batcher.start()

        def generate(n: int):
            return asyncio.ensure_future(
                batcher.generate(gate, np.zeros((n, 100), np.float32), None)
            )

        async def started(count: int) -> None:
            for _ in range(200):
                if len(gate.calls) >= count:
                    return
                await asyncio.sleep(0.01)

        try:
            first = generate(1)
            await started(1)
            small = [generate(1) for _ in range(3)]  # 3 images wait: not worth a second call
            await asyncio.sleep(0.2)
            assert gate.calls == [1]
            full = generate(61)  # now 64 wait: a full batch starts beside the running call
            await started(2)
            assert gate.calls == [1, 64] and gate.most_at_once == 2
            gate.release.set()
            results = await asyncio.gather(first, *small, full)
        finally:
            await batcher.stop()
        assert [len(r) for r in results] == [1, 1, 1, 1, 61]

    asyncio.run(main())


def test_small_batches_wait_for_the_running_call():
    gate = Gate()

    async def main():
        batcher = Batcher(64, 0.0, 60, Metrics(), calls=2)
        batcher.start()
        try:
            zeros = np.zeros((1, 100), np.float32)
            first = asyncio.ensure_future(batcher.generate(gate, zeros, None))
            while not gate.calls:
                await asyncio.sleep(0.01)
            rest = [asyncio.ensure_future(batcher.generate(gate, zeros, None)) for _ in range(5)]
            await asyncio.sleep(0.1)
            gate.release.set()  # the first call ends: the five queued go as one call
            await asyncio.gather(first, *rest)
        finally:
            await batcher.stop()
        assert gate.calls == [1, 5] and gate.most_at_once == 1

    asyncio.run(main())
