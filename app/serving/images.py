"""The image routes' requests as values: each holds its normalized parameters once, and its
cache key, generator inputs and encoder follow from them."""

from __future__ import annotations

import dataclasses
import secrets
from functools import cached_property
from typing import ClassVar

import numpy as np

from app.serving.encoding import ENCODING, default_cols, gif_bytes, grid_png
from app.serving.generator import Generator
from app.serving.inputs import noise_for, walk
from app.serving.registry import ModelVersion


@dataclasses.dataclass(frozen=True)
class Seed:
    """A noise seed, and whether the caller chose it: only then is the image asked for again."""

    value: int
    given: bool

    @classmethod
    def of(cls, seed: int | None) -> Seed:
        """The caller's seed, else a random one."""
        return cls(seed, True) if seed is not None else cls(secrets.randbelow(2**32), False)

    def __str__(self) -> str:  # in a cache key: the same value, the same noise, given or not
        return str(self.value)


def _key_part(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, np.ndarray):
        return ",".join(map(str, value.tolist()))
    return str(value)


@dataclasses.dataclass(frozen=True)
class ImageRequest:
    """One image to render. Equal keys must mean equal bytes, so the key names the model
    version, its fingerprint and every field after it, in order; noise() is drawn on a miss only.
    A subclass also gives `labels` and `seed` (X-Seed, and whether the body may be cached)."""

    KIND: ClassVar[str]
    latent: ClassVar[bool] = False  # noise() gives latent codes (Generator.latent's), not noise

    version: ModelVersion

    @property
    def media_type(self) -> str:
        return "image/png"

    @property
    def small(self) -> bool:
        """encode() runs on the event loop, not in a worker thread."""
        return False

    @property
    def generator(self) -> Generator:
        """The version's generator: requests are made for resolved, loaded versions only."""
        generator = self.version.generator
        assert generator is not None, f"{self.version.ref} is not loaded"
        return generator

    @cached_property
    def key(self) -> str:
        """The cache key and ETag source."""
        params = [_key_part(getattr(self, f.name)) for f in dataclasses.fields(self)[1:]]
        version = self.version
        return "|".join((self.KIND, ENCODING, version.ref, str(version.fingerprint), *params))

    def noise(self) -> np.ndarray:
        """The generator's input rows."""
        raise NotImplementedError

    def encode(self, pixels: np.ndarray) -> bytes:
        """The response body for the generated pixels."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class GridRequest(ImageRequest):
    """/generate's grid of n digits (and /noise's inputs for it)."""

    KIND = "grid"

    n: int
    seed: Seed
    labels: np.ndarray | None
    cols: int
    scale: int

    @classmethod
    def of(
        cls,
        version: ModelVersion,
        n: int,
        seed: Seed,
        labels: np.ndarray | None,
        cols: int | None = None,
        scale: int = 1,
    ) -> GridRequest:
        """Columns default to ceil(sqrt(n)), at most n."""
        return cls(version, n, seed, labels, min(cols or default_cols(n), n), scale)

    @property
    def small(self) -> bool:
        # Encoding up to 16 tiles costs less on the event loop than the hop to a worker thread
        # (docs/benchmarks.md, 'Small grids on the event loop').
        return self.n * self.scale**2 <= 16

    def noise(self) -> np.ndarray:
        return noise_for(self.seed.value, self.n, self.version.noise_dim)

    def encode(self, pixels: np.ndarray) -> bytes:
        return grid_png(pixels, cols=self.cols, scale=self.scale)


@dataclasses.dataclass(frozen=True)
class WalkRequest(ImageRequest):
    """/interpolate's walk from seed A's digit to seed B's: a PNG strip or an animated GIF."""

    KIND = "interp"
    latent = True

    # a walk between codes and one through the noise (older code, same export) differ
    walked: str = dataclasses.field(init=False)
    seed_a: int
    seed_b: int
    steps: int
    labels: np.ndarray | None
    format: str
    scale: int

    def __post_init__(self):
        latent = bool(self.generator.latent_signatures)
        object.__setattr__(self, "walked", "latent" if latent else "noise")

    @classmethod
    def of(
        cls,
        version: ModelVersion,
        seed_a: int,
        seed_b: int,
        steps: int,
        labels: np.ndarray | None,
        format: str,
        scale: int | None = None,
    ) -> WalkRequest:
        """Scale defaults to 1 for a PNG strip, 4 for a GIF."""
        scale = scale or (4 if format == "gif" else 1)
        return cls(version, seed_a, seed_b, steps, labels, format, scale)

    @property
    def seed(self) -> Seed:  # both seeds are the caller's
        return Seed(self.seed_a, True)

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"

    def noise(self) -> np.ndarray:
        return walk(self.generator, self.seed_a, self.seed_b, self.steps)

    def encode(self, pixels: np.ndarray) -> bytes:
        if self.format == "gif":
            return gif_bytes(pixels, scale=self.scale)
        return grid_png(pixels, cols=self.steps, scale=self.scale)


AnyImage = GridRequest | WalkRequest  # what the renderer and the image routes take
