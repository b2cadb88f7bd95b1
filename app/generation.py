"""From seeds to pixels: reproducible noise, labels, interpolation and the generator call."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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


def per_image(saved_model, conditional: bool) -> Callable:
    """The SavedModel's signature as (noise [N, D], labels [N]) -> images [N, 28, 28, 1],
    computing every image alone, as a batch of one, in a graph loop.

    A batched call's floats depend on the batch: the CPU kernels take another path for a matmul's
    last rows (measured with the tutorial generator: rows 6-7 of an 8-row call differ from the
    same rows in a 16-row call, and about one image in 2,000 then differs by a pixel). A batch of
    one is the same arithmetic whatever shares the call, so PNGs stay byte-identical; parallel
    iterations keep both cores busy, so this costs about what one batched call does.
    """
    import tensorflow as tf

    def one(row):
        # Read through saved_model so that it, and the variables it owns, stay alive.
        serve = saved_model.signatures["serving_default"]
        inputs = {"noise": row[0][None]}
        if conditional:
            inputs["labels"] = row[1][None]
        return serve(**inputs)["images"][0]

    @tf.function(input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([None], tf.int32)])
    def generate(noise, labels):
        return tf.map_fn(one, (noise, labels), fn_output_signature=tf.float32)

    return generate


def run_generator(generate: Callable, noise: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """uint8 pixels [N, 28, 28] from a per_image() function; labels only for conditional models."""
    if labels is None:
        labels = np.zeros(len(noise), np.int32)
    return to_pixels(generate(noise, labels.astype(np.int32)).numpy())
