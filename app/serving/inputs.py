"""A request's generator inputs: reproducible noise, labels and latent-space interpolation."""

from __future__ import annotations

import numpy as np

from app.serving.generator import Generator


def noise_for(seed: int, n: int, noise_dim: int) -> np.ndarray:
    """Row i depends only on (seed, i): NumPy's PCG64 stream, read row by row."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.standard_normal((n, noise_dim)).astype(np.float32)


def labels_for(n: int, digit: int | None, digits: list[int] | None) -> np.ndarray:
    """One digit for all, a list repeated, or 0..9 repeated when nothing is asked."""
    if digit is not None:
        return np.full(n, digit, np.int32)
    cycle = np.array(digits if digits else range(10), np.int32)
    return cycle[np.arange(n) % len(cycle)]


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation from a to b in `steps` points, ends included."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cos = np.dot(a64, b64) / (np.linalg.norm(a64) * np.linalg.norm(b64))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel: the great circle is undefined, fall back to a line
        return ((1 - t) * a64 + t * b64).astype(np.float32)
    s = np.sin(omega)
    return (np.sin((1 - t) * omega) / s * a64 + np.sin(t * omega) / s * b64).astype(np.float32)


def walk(generator: Generator, seed_a: int, seed_b: int, steps: int) -> np.ndarray:
    """The latent codes of a walk from seed A's first image to seed B's, ends included: the
    codes the generator draws those images from, so the ends are those very images."""
    ends = [noise_for(seed, 1, generator.noise_dim) for seed in (seed_a, seed_b)]
    a, b = generator.latent(np.concatenate(ends))
    return slerp(a, b, steps)
