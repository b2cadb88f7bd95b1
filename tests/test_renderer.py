import asyncio
import threading

from app.metrics import Metrics
from app.serving.batching import Batcher
from app.serving.cache import ImageCache
from app.serving.images import GridRequest, Seed
from app.serving.renderer import Renderer
from tests.conftest import tiny_dcgan


def render_twice(
    models_dir, cacheable: bool, small: bool = False
) -> tuple[list[bytes], int, Renderer, list[threading.Thread]]:
    """Render one grid twice through a real batcher; also count how often noise was drawn, and
    note the threads it was encoded on."""
    drawn, threads = [], []

    class Traced(GridRequest):
        def noise(self):
            drawn.append(1)
            return super().noise()

        def encode(self, pixels):
            threads.append(threading.current_thread())
            return super().encode(pixels)

    Traced.small = small
    image = Traced.of(tiny_dcgan(models_dir), 4, Seed(7, True), None)

    async def main():
        metrics = Metrics()
        batcher = Batcher(64, 1.0, 60, metrics)
        batcher.start()
        renderer = Renderer(batcher, ImageCache(1 << 20), metrics)
        try:
            return [await renderer.render(image, cacheable) for _ in range(2)], renderer
        finally:
            await batcher.stop()

    bodies, renderer = asyncio.run(main())
    return bodies, len(drawn), renderer, threads


def count(renderer: Renderer, what: str) -> float:
    return renderer.metrics.registry.get_sample_value(f"dcgan_cache_{what}_total")


def test_cacheable_bodies_are_rendered_once(models_dir):
    bodies, drawn, renderer, _ = render_twice(models_dir, cacheable=True)
    assert bodies[0] == bodies[1] and bodies[0].startswith(b"\x89PNG")
    assert drawn == 1 and len(renderer.cache) == 1
    assert count(renderer, "hits") == 1
    assert count(renderer, "misses") == 1


def test_uncacheable_bodies_are_rendered_each_time(models_dir):
    bodies, drawn, renderer, _ = render_twice(models_dir, cacheable=False)
    assert bodies[0] == bodies[1]  # the same noise gives the same bytes, cached or not
    assert drawn == 2 and len(renderer.cache) == 0
    assert count(renderer, "misses") == 2


def test_only_small_images_are_encoded_on_the_event_loop(models_dir):
    for small in (True, False):
        *_, threads = render_twice(models_dir, cacheable=False, small=small)
        assert (threads == [threading.main_thread()] * 2) == small
