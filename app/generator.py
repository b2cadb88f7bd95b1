"""One loaded model version's generator: noise (+ labels) -> uint8 pixels.

Image i of seed s must be the same bytes whatever shares its generator call. A batched call does
not promise that: the CPU kernels take other paths for some call shapes (seen: a 3-row call
differs from three 1-row calls in every row by ~2e-6, and on another CPU the last rows of 8- and
32-row calls did), and about one image in 2,000 then changes by a grey level. Which shapes are
safe depends on the CPU and the TensorFlow build, so it is measured when the model loads: the
self-test computes random rows one by one, then in calls of each candidate size, and keeps the
sizes whose every row matches bit for bit. Requests are then served in calls of those sizes
(padded where that is cheaper); with none but 1, every image is computed in a call of its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import platform
import time
from typing import Literal

import numpy as np

from app.graphs import constant_weights

log = logging.getLogger("app")
Precision = Literal["float32", "bfloat16"]
Mode = Literal["auto", "batched", "per-image"]
SELF_TEST_MIN_ROWS = 16
# The CPU features oneDNN picks kernels by: with the TensorFlow build, what fixes the floats.
ISA_FLAGS = (
    "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "bf16",
)  # fmt: skip


class NotExact(Exception):
    """Even one image computed alone twice gives different floats: no exact mode exists."""


@dataclasses.dataclass(frozen=True)
class Options:
    """How every model version of this process generates (from Settings)."""

    precision: Precision = "float32"
    mode: Mode = "auto"
    max_rows: int = 256  # the most images one batch asks for


def cpu_kind() -> str:
    """The machine and the instruction-set features its kernels are chosen by."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return " ".join([platform.machine(), *[f for f in ISA_FLAGS if f in flags]])


def has_native_bfloat16() -> bool:
    """AMX or AVX512-BF16: bfloat16 matrix products faster than float32 ones."""
    return bool({"amx_bf16", "avx512_bf16"} & set(cpu_kind().split()))


def configure_precision(precision: Precision) -> None:
    """bfloat16: oneDNN's auto-mixed-precision graph rewrite, process-wide, before any call.

    TensorFlow applies it when it instantiates a function, for every function of the process,
    so precision is a service setting, not a per-model one."""
    import tensorflow as tf

    if precision == "bfloat16":
        tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})


def generation_options(precision: str, mode: Mode, max_rows: int) -> Options:
    """The settings as Options; `auto` precision is bfloat16 where the CPU has it natively
    (the shipped models' FID-MNIST moved by 0.03 at most: docs/quality.md)."""
    if precision == "auto":
        precision = "bfloat16" if has_native_bfloat16() else "float32"
    configure_precision(precision)
    log.info("generating in %s", precision)
    return Options(precision, mode, max_rows)


def fingerprint(
    saved_model_dir: str, precision: Precision, device: str, weights: str, graph: str
) -> str:
    """What an image's bytes depend on beyond the request: the weights (the SavedModel's
    checksum), the precision, how the graph holds the weights and which rewrites it got at load
    (see app/graphs.py), the TensorFlow build, the device and its instruction set, and the
    thread count. It goes into ETags, so a cache in front of unlike replicas keeps them
    apart."""
    import tensorflow as tf

    checksum = tf.saved_model.experimental.read_fingerprint(saved_model_dir).saved_model_checksum
    parts = (
        checksum,
        precision,
        weights,
        graph,
        tf.version.VERSION,
        tf.version.GIT_VERSION,
        os.environ.get("TF_ENABLE_ONEDNN_OPTS", ""),
        device,
        cpu_kind(),
        tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def to_pixels(images: np.ndarray) -> np.ndarray:
    """float [-1, 1] [N, 28, 28, 1] -> uint8 [N, 28, 28], white digits on black like MNIST."""
    return np.clip(np.rint(images[..., 0] * 127.5 + 127.5), 0, 255).astype(np.uint8)


class Generator:
    """noise [N, D] (+ labels [N]) -> uint8 pixels [N, 28, 28], in calls of verified sizes."""

    def __init__(self, ref: str, saved_model, conditional: bool, noise_dim: int, options: Options):
        import tensorflow as tf

        self.ref = ref  # name@version, for logs and metrics
        self._saved_model = saved_model  # owns the variables, read where they were not folded
        self.conditional, self.noise_dim, self.options = conditional, noise_dim, options
        signature, self.weights, self.graph = constant_weights(
            saved_model.signatures["serving_default"]
        )
        specs = [tf.TensorSpec([None, noise_dim]), tf.TensorSpec([None], tf.int32)]

        def call(noise, labels):
            inputs = {"noise": noise} | ({"labels": labels} if conditional else {})
            return signature(**inputs)["images"]

        # A concrete function: a call skips tf.function's argument binding (~0.2 ms a call).
        self._batched = tf.function(call, input_signature=specs).get_concrete_function()
        self.sizes: tuple[int, ...] = ()  # verified call sizes; () means per-image
        self._plan: list[tuple[int, ...]] = []
        self._cost: list[float] = []  # seconds the plan for n rows is expected to take
        self._seconds_alone = 0.01  # one image computed alone
        self.self_test_seconds = 0.0

    @property
    def mode(self) -> str:
        return "batched" if any(size > 1 for size in self.sizes) else "per-image"

    def self_test(self) -> None:
        """Find the call sizes whose rows equal the same rows computed alone; raises NotExact."""
        started = time.perf_counter()
        rows = max(SELF_TEST_MIN_ROWS, self.options.max_rows)
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((rows, self.noise_dim)).astype(np.float32)
        labels = (np.arange(rows) % 10).astype(np.int32)
        t = time.perf_counter()
        alone = self.alone(noise, labels)
        self._seconds_alone = (time.perf_counter() - t) / rows
        again = self.alone(noise[:16], labels[:16])
        if not np.array_equal(alone[:16], again):
            raise NotExact("images computed alone differ between two calls")
        seconds: dict[int, float] = {}
        candidates = [] if self.options.mode == "per-image" else _candidate_sizes(rows)
        for size in (s for s in candidates if s <= self.options.max_rows):
            times, outputs = [], []
            for start in range(0, rows - rows % size, size):
                t = time.perf_counter()
                outputs.append(
                    self._batched(noise[start : start + size], labels[start : start + size]).numpy()
                )
                times.append(time.perf_counter() - t)
            exact = np.array_equal(np.concatenate(outputs), alone[: len(outputs) * size])
            if exact or self.options.mode == "batched":
                seconds[size] = float(np.median(times))
        self.sizes = tuple(sorted(seconds))
        self._plan, self._cost = _plan_calls(seconds, self.options.max_rows)
        self.self_test_seconds = time.perf_counter() - started

    def estimate(self, n: int) -> float:
        """Seconds that n images take, by the self-test's timings (the batcher admits by it)."""
        if not self._cost:
            return n * self._seconds_alone
        most = len(self._cost) - 1
        return (n // most) * self._cost[most] + self._cost[n % most]

    def __call__(self, noise: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 pixels for these rows; labels are used only by conditional models."""
        return to_pixels(self.images(noise, labels))

    def images(self, noise: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """The float images [N, 28, 28, 1] in [-1, 1] that the pixels are rounded from."""
        n = len(noise)
        labels = np.zeros(n, np.int32) if labels is None else labels.astype(np.int32)
        if not self.sizes:
            return self.alone(noise, labels)
        most = len(self._plan) - 1  # more rows than the plan covers: its largest call, repeated
        calls = [most] * (n // most) + list(self._plan[n % most]) if n > most else self._plan[n]
        parts, start = [], 0
        for size in calls:
            chunk_noise, chunk_labels = noise[start : start + size], labels[start : start + size]
            if len(chunk_noise) < size:  # the last call padded to a verified size
                pad = size - len(chunk_noise)
                chunk_noise = np.concatenate(
                    [chunk_noise, np.zeros((pad, self.noise_dim), np.float32)]
                )
                chunk_labels = np.concatenate([chunk_labels, np.zeros(pad, np.int32)])
            parts.append(self._batched(chunk_noise, chunk_labels).numpy())
            start += size
        return np.concatenate(parts)[:n]

    def alone(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The float images, each computed in a call of its own (the same graph as batches, so
        that they compare: a graph loop may optimize differently, e.g. fuse fewer ops)."""
        calls = [self._batched(noise[i : i + 1], labels[i : i + 1]) for i in range(len(noise))]
        return np.concatenate([images.numpy() for images in calls])

    def describe(self) -> dict:
        return {
            "mode": self.mode,
            "call_sizes": list(self.sizes),
            "exact": self.options.mode != "batched",
            "precision": self.options.precision,
            "weights": self.weights,
            "graph": self.graph,
            "self_test_seconds": round(self.self_test_seconds, 2),
        }


def _candidate_sizes(max_rows: int) -> list[int]:
    """Powers of two up to max_rows, and max_rows itself."""
    sizes = [1 << k for k in range(max_rows.bit_length()) if 1 << k <= max_rows]
    return sorted(set(sizes) | {max_rows})


def _plan_calls(seconds: dict[int, float], max_rows: int) -> tuple[list[tuple[int, ...]], list]:
    """plan[n]: the call sizes that give n rows soonest (by the self-test's timings), the last
    call padded when that is cheaper than splitting it; and cost[n], their expected seconds."""
    if not seconds:
        return [], []
    cost, plan = [0.0] + [np.inf] * max_rows, [()] + [()] * max_rows
    for n in range(1, max_rows + 1):
        for size, t in seconds.items():
            rest = max(n - size, 0)
            if t + cost[rest] < cost[n]:
                cost[n], plan[n] = t + cost[rest], (size, *plan[rest])
    return plan, cost
