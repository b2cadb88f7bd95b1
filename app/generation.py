"""From seeds to pixels: reproducible noise, labels, interpolation and the generator call."""

from __future__ import annotations

import numpy as np

# Calls are padded to a multiple of this many images. oneDNN picks different kernels for some
# batch sizes (seen: 3), which can move a pixel across a rounding boundary; padding keeps every
# image's arithmetic the same whatever else shares its batch, so PNGs stay byte-identical.
PAD_TO = 8


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


def to_pixels(images: np.ndarray) -> np.ndarray:
    """float [-1, 1] [N, 28, 28, 1] -> uint8 [N, 28, 28], white digits on black like MNIST."""
    return np.clip(np.rint(images[..., 0] * 127.5 + 127.5), 0, 255).astype(np.uint8)


def run_generator(serve, noise: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Call a SavedModel signature on a padded batch; returns uint8 pixels for the real rows."""
    import tensorflow as tf

    n = len(noise)
    padded = -(-n // PAD_TO) * PAD_TO
    inputs = {"noise": tf.constant(np.pad(noise, ((0, padded - n), (0, 0))))}
    if labels is not None:
        inputs["labels"] = tf.constant(np.pad(labels, (0, padded - n)))
    return to_pixels(serve(**inputs)["images"].numpy()[:n])
