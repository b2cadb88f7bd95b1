"""GET /interpolate through HTTP, against tiny exported models (and the shipped default)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.serving.inputs import noise_for, slerp
from tests.conftest import ROOT, image, tiles


def frames(client, query: str, steps: int) -> np.ndarray:
    """A strip's frames, as floats."""
    strip = client.get(f"/interpolate?{query}&steps={steps}")
    assert strip.status_code == 200, strip.text
    return np.stack(tiles(strip.content, steps, steps)).astype(np.float64)


def in_a_new_thread(call, *args):
    """TensorFlow keeps a thread's function options from its first call: this test thread's
    predate the app's precision (bfloat16 where the CPU has it), a new thread's do not."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args).result()


def steps_of(walk: np.ndarray) -> np.ndarray:
    """Mean |change| of each step, in grey levels."""
    return np.abs(np.diff(walk, axis=0)).mean((1, 2))


def assert_ends_are_the_seeds_images(client, walk: np.ndarray, seeds, model: str = "") -> None:
    for frame, seed in zip((walk[0], walk[-1]), seeds, strict=True):
        alone = tiles(client.get(f"/generate?n=1&seed={seed}{model}").content, 1, 1)[0]
        np.testing.assert_array_equal(frame, alone)


@pytest.fixture(scope="module")
def prior_client(prior_models_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("prior-data")
    settings = Settings(
        models_dir=prior_models_dir, default_model="prior", data_dir=data_dir, run_jobs="off"
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_interpolate_strip_and_gif(client):
    strip = client.get("/interpolate?seed_a=1&seed_b=2&steps=8")
    assert image(strip).size == (8 * 28 + 7 * 2, 28)
    ends = tiles(strip.content, 8, 8)
    np.testing.assert_array_equal(
        ends[0], tiles(client.get("/generate?n=1&seed=1").content, 1, 1)[0]
    )
    np.testing.assert_array_equal(
        ends[7], tiles(client.get("/generate?n=1&seed=2").content, 1, 1)[0]
    )
    gif = client.get("/interpolate?seed_a=1&seed_b=2&steps=8&format=gif")
    assert gif.headers["content-type"] == "image/gif"
    animation = image(gif)
    assert animation.n_frames == 14 and animation.size == (112, 112)  # there and back, x4
    digit = client.get("/interpolate?seed_a=1&seed_b=2&model=cdcgan&digit=5")
    assert digit.status_code == 200 and digit.headers["x-model"] == "cdcgan@1"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("seed_a=1", "seed_b"),
        ("seed_a=1&seed_b=2&steps=7", "steps"),
        ("seed_a=1&seed_b=2&steps=1_6", "steps"),
        ("seed_a=1&seed_b=2&format=jpg", "format"),
        ("seed_a=1&seed_b=2&digit=3", "digit"),  # the default model is not conditional
    ],
)
def test_each_bad_parameter_is_a_422_naming_it(client, query, param):
    response = client.get(f"/interpolate?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", param]


def test_same_walk_same_bytes_and_etag(client):
    url = "/interpolate?seed_a=3&seed_b=4&steps=8"
    first, again = client.get(url), client.get(url)
    assert first.content == again.content and first.headers["etag"] == again.headers["etag"]
    assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    other = client.get("/interpolate?seed_a=3&seed_b=4&steps=9")
    assert other.headers["etag"] != first.headers["etag"]


def test_a_plain_export_walks_its_noise_as_before(client):
    """Slerp between the seeds' noise, drawn by the generator: no latent signatures, no map."""
    walk = frames(client, "seed_a=5&seed_b=6", 8)
    generator = client.app.state.registry.versions["dcgan"][2].generator  # the active one
    noise = slerp(noise_for(5, 1, 100)[0], noise_for(6, 1, 100)[0], 8)
    np.testing.assert_array_equal(walk, in_a_new_thread(generator, noise))
    assert generator.describe()["walks"] == "noise"


@pytest.mark.parametrize("seeds", [(1, 2), (3, 4)])
def test_a_prior_export_walks_its_latent_codes_without_jumps(prior_client, seeds):
    """Its noise, walked, jumps from one mode of the prior to the next; its codes do not."""
    walk = frames(prior_client, f"seed_a={seeds[0]}&seed_b={seeds[1]}", 32)
    assert steps_of(walk).max() < 2 * steps_of(walk).mean()
    assert_ends_are_the_seeds_images(prior_client, walk, seeds)
    generator = prior_client.app.state.registry.versions["prior"][1].generator
    noise = slerp(*(noise_for(seed, 1, 100)[0] for seed in seeds), 32)
    through_noise = in_a_new_thread(generator, noise).astype(np.float64)
    assert steps_of(through_noise).max() > 5 * steps_of(through_noise).mean()
    np.testing.assert_array_equal(through_noise[[0, -1]], walk[[0, -1]])


def test_a_prior_walk_is_the_same_bytes_and_etag_each_time(prior_client):
    url = "/interpolate?seed_a=3&seed_b=4&steps=8&format=gif"
    first, again = prior_client.get(url), prior_client.get(url)
    assert first.content == again.content and first.headers["etag"] == again.headers["etag"]
    assert image(first).n_frames == 14


@pytest.mark.slow
def test_the_shipped_default_model_morphs_from_seed_to_seed(tmp_path):
    """dcgan@3 (a fitted prior): each of 31 steps moves the pixels by 12/255 at most on average
    (walked through its noise, the steps where it crosses from digit to digit move them far
    more), and the ends are the seeds' images."""
    settings = Settings(models_dir=ROOT / "models", data_dir=tmp_path, run_jobs="off")
    with TestClient(create_app(settings)) as shipped:
        for seeds in ((1, 2), (3, 4), (10, 20)):
            walk = frames(shipped, f"seed_a={seeds[0]}&seed_b={seeds[1]}", 32)
            assert steps_of(walk).max() <= 12, seeds
            assert_ends_are_the_seeds_images(shipped, walk, seeds)
