"""GET /interpolate through HTTP, against tiny exported models."""

import numpy as np
import pytest

from tests.conftest import image, tiles


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
