import asyncio
import dataclasses
import threading
from functools import partial

import numpy as np

from app.metrics import Metrics
from app.serving.batching import Batcher
from app.serving.cache import ImageCache
from app.serving.encoding import grid_png
from app.serving.inputs import noise_for
from app.serving.renderer import ImageSpec, Renderer
from tests.conftest import tiny_dcgan


def render_twice(models_dir, cacheable: bool, **spec_fields) -> tuple[list[bytes], int, Renderer]:
    """Render one spec twice through a real batcher; also count how often noise was drawn."""
    version = tiny_dcgan(models_dir)
    drawn = []

    def noise() -> np.ndarray:
        drawn.append(1)
        return noise_for(7, 4, version.noise_dim)

    spec = ImageSpec(
        "grid|dcgan@1|4|7", version, noise, None, partial(grid_png, cols=2, scale=1), "image/png"
    )
    spec = dataclasses.replace(spec, **spec_fields)

    async def main():
        metrics = Metrics()
        batcher = Batcher(64, 1.0, 60, metrics)
        batcher.start()
        renderer = Renderer(batcher, ImageCache(1 << 20), metrics)
        try:
            return [await renderer.render(spec, cacheable) for _ in range(2)], renderer
        finally:
            await batcher.stop()

    bodies, renderer = asyncio.run(main())
    return bodies, len(drawn), renderer


def count(renderer: Renderer, what: str) -> float:
    return renderer.metrics.registry.get_sample_value(f"dcgan_cache_{what}_total")


def test_cacheable_bodies_are_rendered_once(models_dir):
    bodies, drawn, renderer = render_twice(models_dir, cacheable=True)
    assert bodies[0] == bodies[1] and bodies[0].startswith(b"\x89PNG")
    assert drawn == 1 and len(renderer.cache) == 1
    assert count(renderer, "hits") == 1
    assert count(renderer, "misses") == 1


def test_uncacheable_bodies_are_rendered_each_time(models_dir):
    bodies, drawn, renderer = render_twice(models_dir, cacheable=False)
    assert bodies[0] == bodies[1]  # the same noise gives the same bytes, cached or not
    assert drawn == 2 and len(renderer.cache) == 0
    assert count(renderer, "misses") == 2


def test_only_small_images_are_encoded_on_the_event_loop(models_dir):
    for small in (True, False):
        threads = []

        def encode(pixels, threads=threads):
            threads.append(threading.current_thread())
            return grid_png(pixels, cols=2, scale=1)

        render_twice(models_dir, cacheable=False, encode=encode, small=small)
        assert (threads == [threading.main_thread()] * 2) == small
