"""One loaded model version's generator: noise (+ labels) -> uint8 pixels.

Image i of seed s must be the same bytes whatever shares its generator call. A batched call does
not promise that: the CPU kernels take other paths for some call shapes, and now and then an
image changes by a grey level (docs/api.md, 'Why it needs care'). Which shapes are
safe depends on the CPU and the TensorFlow build, so it is measured when the model loads: the
self-test computes random rows one by one, then in calls of each candidate size, and keeps the
sizes whose every row (and, of an export called as two halves, every latent code) matches bit
for bit. Requests are then served in calls of those sizes (padded where that is cheaper:
app/serving/calls.py); with none but 1, every image is computed in a call of its own.
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

from app.serving.calls import candidate_sizes, in_calls, plan_calls
from app.serving.graphs import served_calls

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


def generation_options(
    precision: Literal["auto", "float32", "bfloat16"], mode: Mode, max_rows: int
) -> Options:
    """The settings as Options; `auto` precision is bfloat16 where the CPU has it natively
    (the shipped models' FID-MNIST moved by 0.03 at most: docs/quality.md)."""
    chosen: Precision = precision if precision != "auto" else _native_or_float32()
    configure_precision(chosen)
    log.info("generating in %s", chosen)
    return Options(chosen, mode, max_rows)


def _native_or_float32() -> Precision:
    return "bfloat16" if has_native_bfloat16() else "float32"


def fingerprint(
    saved_model_dir: str, precision: Precision, device: str, weights: str, graph: str
) -> str:
    """What an image's bytes depend on beyond the request: the weights (the SavedModel's
    checksum), the precision, how the graph holds the weights and which rewrites it got at load
    (see app/serving/graphs.py), the TensorFlow build, the device and its instruction set, and the
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
    """noise [N, D] (+ labels [N]) -> uint8 pixels [N, 28, 28], in calls of verified sizes.

    An export with latent signatures (a fitted prior) is called as its two halves, noise ->
    latent codes -> images, so that a walk between codes (`from_latent`) is drawn by the very
    graph that draws every image; any other export's latent codes are its noise."""

    def __init__(
        self,
        ref: str,
        saved_model,
        conditional: bool,
        noise_dim: int,
        options: Options,
        latent_signatures: bool = False,
    ):
        self.ref = ref  # name@version, for logs and metrics
        self._saved_model = saved_model  # owns the variables, read where they were not folded
        self.conditional, self.noise_dim, self.options = conditional, noise_dim, options
        self.latent_signatures = latent_signatures
        calls = served_calls(saved_model.signatures, conditional, noise_dim, latent_signatures)
        self._batched, self._latent, self.weights, self.graph = calls
        self.from_latent = FromLatent(self)
        self.sizes: tuple[int, ...] = ()  # verified call sizes; () means per-image
        self._plan: list[tuple[int, ...]] = []
        self._cost: list[float] = []  # seconds the plan for n rows is expected to take
        self._seconds_alone = 0.01  # one image computed alone
        self.self_test_seconds = 0.0

    @property
    def mode(self) -> str:
        return "batched" if any(size > 1 for size in self.sizes) else "per-image"

    def self_test(self) -> None:
        """Find the call sizes whose rows (latent codes and images) equal the same rows computed
        alone; raises NotExact."""
        started = time.perf_counter()
        rows = max(SELF_TEST_MIN_ROWS, self.options.max_rows)
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((rows, self.noise_dim)).astype(np.float32)
        labels = (np.arange(rows) % 10).astype(np.int32)
        t = time.perf_counter()
        codes, alone = self._alone(noise, labels)
        self._seconds_alone = (time.perf_counter() - t) / rows
        if not np.array_equal(alone[:16], self.alone(noise[:16], labels[:16])):
            raise NotExact("images computed alone differ between two calls")
        seconds: dict[int, float] = {}
        candidates = [] if self.options.mode == "per-image" else candidate_sizes(rows)
        for size in (s for s in candidates if s <= self.options.max_rows):
            times, outputs = [], []
            for start in range(0, rows - rows % size, size):
                t = time.perf_counter()
                chunk = self._codes(noise[start : start + size])
                outputs.append((chunk, self._render(chunk, labels[start : start + size])))
                times.append(time.perf_counter() - t)
            done = len(outputs) * size
            exact = np.array_equal(np.concatenate([c for c, _ in outputs]), codes[:done])
            exact &= np.array_equal(np.concatenate([i for _, i in outputs]), alone[:done])
            if exact or self.options.mode == "batched":
                seconds[size] = float(np.median(times))
        self.sizes = tuple(sorted(seconds))
        self._plan, self._cost = plan_calls(seconds, self.options.max_rows)
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
        return self._in_calls(lambda x, y: self._render(self._codes(x), y), noise, labels)

    def latent(self, noise: np.ndarray) -> np.ndarray:
        """The latent codes [N, D] these noise rows are drawn from, as `images` computes them."""
        return self._in_calls(lambda x, _: self._codes(x), noise, None)

    def render(self, codes: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """The float images of latent codes (what `latent` returns, or points between them)."""
        return self._in_calls(self._render, codes, labels)

    def alone(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The float images, each computed in calls of its own (the same graphs as batches, so
        that they compare: a graph loop may optimize differently, e.g. fuse fewer ops)."""
        return self._alone(noise, labels)[1]

    def _alone(self, noise: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = np.concatenate([self._codes(noise[i : i + 1]) for i in range(len(noise))])
        images = [self._render(codes[i : i + 1], labels[i : i + 1]) for i in range(len(noise))]
        return codes, np.concatenate(images)

    def _codes(self, noise: np.ndarray) -> np.ndarray:
        return noise if self._latent is None else self._latent(noise).numpy()

    def _render(self, codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return self._batched(codes, labels).numpy()

    def _in_calls(self, call, rows: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        labels = np.zeros(len(rows), np.int32) if labels is None else labels.astype(np.int32)
        return in_calls(call, rows, labels, self._plan)

    def describe(self) -> dict:
        return {
            "mode": self.mode,
            "call_sizes": list(self.sizes),
            "exact": self.options.mode != "batched",
            "precision": self.options.precision,
            "weights": self.weights,
            "graph": self.graph,
            "walks": "latent codes" if self.latent_signatures else "noise",
            "self_test_seconds": round(self.self_test_seconds, 2),
        }


class FromLatent:
    """A generator fed latent codes instead of noise (what a walk between codes renders), for
    the batcher: its calls of verified sizes, and the images' pixels."""

    def __init__(self, generator: Generator):
        self.ref, self.estimate, self._generator = generator.ref, generator.estimate, generator

    def __call__(self, codes: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        return to_pixels(self._generator.render(codes, labels))
