"""Images/s of the training step: float32 and bfloat16, unconditional and conditional.

    python benchmarks/train_speed.py [--steps 20] [--warmup 5] [--batch-size 256]

Prints the median over --steps timed steps after --warmup steps, on random data shaped like MNIST.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from training.config import TrainConfig
from training.gan import GAN


def images_per_sec(config: TrainConfig, steps: int, warmup: int) -> float:
    gan = GAN(config, tf.distribute.get_strategy())
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (config.batch_size, 28, 28, 1)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, config.batch_size).astype(np.int32))
    for _ in range(warmup):
        gan.train_step(images, labels)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        gan.train_step(images, labels)  # returns Python floats, so the step has finished
        times.append(time.perf_counter() - start)
    return config.batch_size / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, batch {args.batch_size}, median of {args.steps} steps")
    print(f"{'model':<14} {'precision':<10} {'images/s':>9}")
    for conditional in (False, True):
        for precision in ("float32", "bfloat16"):
            config = TrainConfig(
                batch_size=args.batch_size, conditional=conditional, mixed_precision=precision
            )
            rate = images_per_sec(config, args.steps, args.warmup)
            name = "conditional" if conditional else "unconditional"
            print(f"{name:<14} {precision:<10} {rate:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
