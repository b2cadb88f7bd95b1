import asyncio

import pytest

from app.batching import Batcher, Overloaded
from app.generation import noise_for
from app.metrics import Metrics
from app.registry import load_version


def calls_and_requests(metrics: Metrics) -> tuple[float, float]:
    """Generator calls made so far, and the requests they served."""
    get = metrics.registry.get_sample_value
    return get("dcgan_batch_requests_count"), get("dcgan_batch_requests_sum")


def run_with_batcher(models_dir, max_wait_ms: float, queue_limit: int, scenario):
    """Runs scenario(batcher, generate) against a real batcher and the tiny dcgan@1."""
    version = load_version("dcgan", 1, models_dir / "dcgan" / "1")

    async def main():
        metrics = Metrics()
        batcher = Batcher(256, max_wait_ms, queue_limit, metrics)
        batcher.start()

        def generate(seed: int):
            return batcher.generate(version, noise_for(seed, 1, version.noise_dim), None)

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

    metrics = run_with_batcher(models_dir, 60_000, 8, one_client)
    assert calls_and_requests(metrics) == (3, 3)


def test_after_a_shared_batch_a_request_waits_for_the_next(models_dir):
    async def two_clients(generate):
        await asyncio.gather(generate(1), generate(2))  # queued together: one call
        # the clients come back at different times, within max_wait: still one call
        first = asyncio.ensure_future(generate(3))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, generate(4))

    metrics = run_with_batcher(models_dir, 1000, 8, two_clients)
    assert calls_and_requests(metrics) == (2, 4)


def test_a_full_queue_refuses(models_dir):
    async def flood(generate):
        results = await asyncio.gather(*(generate(s) for s in range(4)), return_exceptions=True)
        assert sum(isinstance(r, Overloaded) for r in results) >= 1
        assert all(r.shape == (1, 28, 28) for r in results if not isinstance(r, Exception))

    metrics = run_with_batcher(models_dir, 0, 2, flood)
    assert metrics.registry.get_sample_value("dcgan_queue_rejected_total") >= 1


@pytest.mark.parametrize("max_wait_ms", [0, 5])
def test_every_request_gets_its_own_rows(models_dir, max_wait_ms):
    async def many(generate):
        first = await asyncio.gather(*(generate(s) for s in range(10)))
        again = await asyncio.gather(*(generate(s) for s in reversed(range(10))))
        for s in range(10):
            assert (first[s] == again[9 - s]).all()
        assert len({r.tobytes() for r in first}) == 10

    run_with_batcher(models_dir, max_wait_ms, 64, many)
