import asyncio

from app.batching import Batcher
from app.generation import noise_for
from app.metrics import Metrics
from app.registry import load_version


def calls_and_requests(metrics: Metrics) -> tuple[float, float]:
    """Generator calls made so far, and the requests they served."""
    get = metrics.registry.get_sample_value
    return get("dcgan_batch_requests_count"), get("dcgan_batch_requests_sum")


def run_with_batcher(models_dir, max_wait_ms: float, scenario):
    """Runs scenario(generate) against a real batcher and the tiny dcgan@1; returns its metrics.

    (The 503 of a full queue and the rows of 50 concurrent requests are tested through HTTP in
    test_routes_generate.py.)"""
    version = load_version("dcgan", 1, models_dir / "dcgan" / "1")

    async def main():
        metrics = Metrics()
        batcher = Batcher(256, max_wait_ms, 8, metrics)
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
