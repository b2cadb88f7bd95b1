import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from app.serving.encoding import ENCODING
from app.serving.images import GridRequest, Seed, WalkRequest
from app.serving.inputs import noise_for


def version(latent: bool = True) -> SimpleNamespace:
    """What the requests read of a ModelVersion, without loading one."""
    generator = SimpleNamespace(latent_signatures=("latent",) if latent else ())
    return SimpleNamespace(ref="dcgan@3", fingerprint="f1", noise_dim=8, generator=generator)


def test_keys_keep_their_layout():
    """ETags are hashes of these keys: a change in layout would change every ETag served."""
    labels = np.array([1, 2, 3, 1], np.int32)
    grid = GridRequest.of(version(), 4, Seed(42, True), labels, None, 2)
    assert grid.key == f"grid|{ENCODING}|dcgan@3|f1|4|42|1,2,3,1|2|2"
    walk = WalkRequest.of(version(latent=False), 1, 2, 16, None, "gif")
    assert walk.key == f"interp|{ENCODING}|dcgan@3|f1|noise|1|2|16|-|gif|4"


@pytest.mark.parametrize(
    "request_, changes",
    [
        (
            GridRequest.of(version(), 4, Seed(42, True), None),
            {"n": 5, "seed": Seed(43, True), "labels": np.zeros(4, np.int32)}
            | {"cols": 1, "scale": 2},
        ),
        (
            WalkRequest.of(version(), 1, 2, 16, None, "png"),
            {"seed_a": 3, "seed_b": 4, "steps": 8, "labels": np.zeros(16, np.int32)}
            | {"format": "gif", "scale": 2},
        ),
    ],
)
def test_every_parameter_is_in_the_key(request_, changes):
    fields = {f.name for f in dataclasses.fields(request_) if f.init} - {"version"}
    assert set(changes) == fields
    for name, value in changes.items():
        assert dataclasses.replace(request_, **{name: value}).key != request_.key, name


def test_a_walk_through_the_noise_has_its_own_key():
    walked = WalkRequest.of(version(latent=False), 1, 2, 16, None, "png")
    assert walked.key != WalkRequest.of(version(), 1, 2, 16, None, "png").key


def test_a_seed_given_or_drawn_gives_the_same_key():
    given, drawn = Seed.of(42), Seed(42, False)
    assert given == Seed(42, True)
    keys = {GridRequest.of(version(), 4, seed, None).key for seed in (given, drawn)}
    assert len(keys) == 1
    random = Seed.of(None)
    assert not random.given and 0 <= random.value < 2**32


def test_defaults_and_inputs():
    grid = GridRequest.of(version(), 3, Seed(7, True), None)
    assert grid.cols == 2 and grid.scale == 1 and grid.small and not grid.latent
    assert GridRequest.of(version(), 3, Seed(7, True), None, cols=9).cols == 3
    assert not GridRequest.of(version(), 16, Seed(7, True), None, scale=2).small
    np.testing.assert_array_equal(grid.noise(), noise_for(7, 3, 8))
    walk = WalkRequest.of(version(), 1, 2, 8, None, "png")
    assert (walk.scale, walk.media_type, walk.seed, walk.latent) == (
        1,
        "image/png",
        Seed(1, True),
        True,
    )
    assert WalkRequest.of(version(), 1, 2, 8, None, "gif").media_type == "image/gif"
