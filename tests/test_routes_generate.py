"""GET /generate through HTTP, against tiny exported models."""

import asyncio

import httpx
import numpy as np
import pytest

from app.config import Settings
from app.main import create_app
from tests.conftest import image, tiles


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("n=16", (118, 118)),  # 4x4 tiles of 28 px and 2-px gaps
        ("n=10", (118, 88)),  # ceil(sqrt(10)) = 4 columns, 3 rows
        ("n=10&cols=5", (148, 58)),
        ("n=1", (28, 28)),
        ("n=3&cols=9", (88, 28)),  # never more columns than images
        ("n=16&scale=3", (354, 354)),
        ("n=256&cols=32&scale=2", (2 * 958, 2 * 238)),
    ],
)
def test_png_size_follows_n_cols_scale(client, query, size):
    img = image(client.get(f"/generate?seed=1&{query}"))
    assert (img.format, img.mode, img.size) == ("PNG", "L", size)


def test_headers_and_byte_identical_repeat(client):
    first = client.get("/generate?n=16&seed=42")
    second = client.get("/generate?seed=42")  # n=16 is the default: same normalized request
    assert first.content == second.content
    assert first.headers["content-type"] == "image/png"
    assert first.headers["x-seed"] == "42" and first.headers["x-model"] == "dcgan@2"
    assert first.headers["etag"] == second.headers["etag"]
    # the default model's active version may change: cached a minute, not for ever
    assert first.headers["cache-control"] == "public, max-age=60"
    pinned = client.get("/generate?seed=42&model=dcgan@2")
    assert pinned.content == first.content and pinned.headers["etag"] == first.headers["etag"]
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    # White digits on black: the gaps are black, the tiles are not all black.
    pixels = np.asarray(image(first))
    assert pixels[:, 28:30].max() == 0 and pixels.max() > 0


def test_random_seed_is_reported_and_reproducible(client):
    unseeded = client.get("/generate?n=4")
    assert unseeded.headers["cache-control"] == "no-store"
    seed = int(unseeded.headers["x-seed"])
    assert 0 <= seed < 2**32
    assert client.get(f"/generate?n=4&seed={seed}").content == unseeded.content


def test_image_i_is_the_same_whatever_n(client):
    small = tiles(client.get("/generate?n=3&seed=7&cols=3").content, 3, 3)
    large = tiles(client.get("/generate?n=64&seed=7&cols=8").content, 64, 8)
    for a, b in zip(small, large[:3]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(large[0], large[1])


def test_if_none_match_gives_304(client):
    etag = client.get("/generate?n=4&seed=5").headers["etag"]
    cached = client.get("/generate?n=4&seed=5", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    weak = client.get("/generate?n=4&seed=5", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    other = client.get("/generate?n=5&seed=5", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_version_and_conditional_digits(client):
    old = client.get("/generate?n=4&seed=1&model=dcgan@1")
    assert old.headers["x-model"] == "dcgan@1"
    assert old.content != client.get("/generate?n=4&seed=1").content
    three = client.get("/generate?n=4&seed=1&model=cdcgan&digit=3")
    assert three.headers["x-model"] == "cdcgan@1"
    four = client.get("/generate?n=4&seed=1&model=cdcgan&digit=4")
    assert image(three).size == image(four).size and three.content != four.content
    # digits=3,4 puts a 3 then a 4: the tiles match the single-digit grids' tiles.
    mixed = tiles(client.get("/generate?n=2&seed=1&model=cdcgan&digits=3,4&cols=2").content, 2, 2)
    np.testing.assert_array_equal(mixed[0], tiles(three.content, 1, 2)[0])
    np.testing.assert_array_equal(mixed[1], tiles(four.content, 2, 2)[1])


BAD = [
    ("/generate?n=0", 422, "n"),
    ("/generate?n=257", 422, "n"),
    ("/generate?n=abc", 422, "n"),
    # pydantic alone reads each of these as 16
    ("/generate?n=1_6", 422, "n"),
    ("/generate?n=%2B16", 422, "n"),
    ("/generate?n=%2016", 422, "n"),
    ("/generate?n=16.0", 422, "n"),
    ("/generate?seed=4_2", 422, "seed"),
    ("/generate?seed=-1", 422, "seed"),
    ("/generate?seed=4294967296", 422, "seed"),
    ("/generate?scale=9", 422, "scale"),
    ("/generate?cols=0", 422, "cols"),
    ("/generate?model=Bad!", 422, "model"),
    ("/generate?digit=3", 422, "digit"),
    ("/generate?digits=1,2", 422, "digits"),
    ("/generate?model=cdcgan&digit=10", 422, "digit"),
    ("/generate?model=cdcgan&digits=1,,2", 422, "digits"),
    ("/generate?model=cdcgan&digit=1&digits=1,2", 422, "digits"),
    ("/generate?model=nope", 404, "unknown model 'nope'; available: broken, cdcgan, dcgan"),
    ("/generate?model=dcgan@9", 404, "model 'dcgan' has no version 9; versions: 1, 2"),
    ("/generate?model=broken", 404, "model 'broken' has no servable version"),
    ("/generate?model=broken@1", 404, "broken@1 failed to load: JSONDecodeError"),
]


@pytest.mark.parametrize(("url", "status", "names"), BAD)
def test_every_4xx_says_what_was_wrong(client, url, status, names):
    response = client.get(url)
    assert response.status_code == status
    detail = response.json()["detail"]
    if status == 422:
        assert detail[0]["loc"] == ["query", names] and detail[0]["msg"]
    else:
        assert detail.startswith(names)


async def _concurrent(app, urls: list[str]) -> list[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(*(http.get(url) for url in urls))
            metrics = await http.get("/metrics")
    return [*responses, metrics]


def test_50_concurrent_requests_are_batched_and_correct(client, settings):
    urls = [f"/generate?n=4&seed={1000 + i}" for i in range(50)]
    *responses, metrics = asyncio.run(_concurrent(create_app(settings), urls))
    for url, response in zip(urls, responses):
        assert response.content == client.get(url).content  # the same as one at a time
    counts = {
        line.split()[0]: float(line.split()[1])
        for line in metrics.text.splitlines()
        if line.startswith("dcgan_batch_requests_")
    }
    calls, single = (
        counts["dcgan_batch_requests_count"],
        counts['dcgan_batch_requests_bucket{le="1.0"}'],
    )
    assert calls < 50 and single < calls, counts  # some calls served several requests


def test_more_work_than_the_queue_takes_answers_503_with_retry_after(settings):
    tight = Settings(**{**settings.model_dump(), "max_queue_seconds": 0.01})
    urls = [f"/generate?n=64&seed={i}" for i in range(12)]
    *responses, _ = asyncio.run(_concurrent(create_app(tight), urls))
    statuses = [r.status_code for r in responses]
    assert 503 in statuses and 200 in statuses, statuses
    refused = next(r for r in responses if r.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1 and "busy" in refused.json()["detail"]
