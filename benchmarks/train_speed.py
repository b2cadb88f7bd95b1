"""Images/s of the project's training step beside the TensorFlow DCGAN tutorial's, in one run.

    python benchmarks/train_speed.py [--rounds 5] [--steps 5] [--warmup 3] [--batch-size 256]

The tutorial's train_step (its models, loss, optimizers and @tf.function, float32) and each
project configuration take turns, --steps timed steps each a round, as the machine's speed drifts;
on random data shaped like MNIST. images/s is the median over every timed step; `x tutorial` the
median over rounds of the ratio to the tutorial's step in the same round, by the wall clock and by
the process's CPU time (steadier where other processes share the cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

from training.config import TrainConfig
from training.gan import GAN


# The tutorial's code (tensorflow.org/tutorials/generative/dcgan), as it writes it.
def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Dense(7 * 7 * 256, use_bias=False, input_shape=(100,)))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((7, 7, 256)))
    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(
        layers.Conv2DTranspose(
            1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"
        )
    )
    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same", input_shape=[28, 28, 1]))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


def tutorial_step(BATCH_SIZE: int):
    """The tutorial's train_step, closed over its own models and optimizers."""
    generator = make_generator_model()
    discriminator = make_discriminator_model()
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        total_loss = real_loss + fake_loss
        return total_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    generator_optimizer = tf.keras.optimizers.Adam(1e-4)
    discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
    noise_dim = 100

    @tf.function
    def train_step(images):
        noise = tf.random.normal([BATCH_SIZE, noise_dim])

        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)

            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)

            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)

        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(
            disc_loss, discriminator.trainable_variables
        )

        generator_optimizer.apply_gradients(
            zip(gradients_of_generator, generator.trainable_variables)
        )
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables)
        )

    return train_step


def batch(size: int) -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (size, 28, 28, 1)).astype(np.float32)
    return tf.constant(images), tf.constant(rng.integers(0, 10, size).astype(np.int32))


def contenders(batch_size: int) -> dict:
    """name -> (batch size, a call that runs one step and returns when it has finished)."""
    images, labels = batch(batch_size)
    tutorial = tutorial_step(batch_size)
    runs = {"tutorial (float32)": (batch_size, lambda: tutorial(images))}
    configs = {
        "float32": TrainConfig(batch_size=batch_size),
        "bfloat16": TrainConfig(batch_size=batch_size, mixed_precision="bfloat16"),
        "bfloat16 conditional": TrainConfig(
            batch_size=batch_size, mixed_precision="bfloat16", conditional=True
        ),
        # Batch 64 with EMA and R1, as the long runs of docs/quality.md.
        "bf16 cond b64 EMA R1": TrainConfig(
            batch_size=64, mixed_precision="bfloat16", conditional=True, ema_decay=0.999,
            r1_gamma=0.1, label_smoothing=0.1, beta_1=0.5,
        ),
    }  # fmt: skip
    configs["... lazy R1 (every 16)"] = configs["bf16 cond b64 EMA R1"].replace(r1_every=16)
    for name, config in configs.items():
        gan = GAN(config, tf.distribute.get_strategy())
        data = batch(config.batch_size)
        runs[name] = (config.batch_size, lambda gan=gan, data=data: gan.train_step(*data))
    return runs


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def race(runs: dict, rounds: int, steps: int, warmup: int) -> dict[str, dict[str, list]]:
    """clock -> name -> each round's step times, the contenders taking turns."""
    for _, step in runs.values():
        for _ in range(warmup):
            step()
    times = {clock: {name: [] for name in runs} for clock in CLOCKS}
    for _ in range(rounds):
        for name, (_, step) in runs.items():
            spent = {clock: [] for clock in CLOCKS}
            for _ in range(steps):
                start = {clock: read() for clock, read in CLOCKS.items()}
                step()  # returns once the step has run (eager calls are synchronous on CPU)
                for clock, read in CLOCKS.items():
                    spent[clock].append(read() - start[clock])
            for clock in CLOCKS:
                times[clock][name].append(spent[clock])
    return times


def report(size: int, rounds: list, tutorial: list, tutorial_size: int) -> str:
    """images/s over all steps and the median of each round's ratio to the tutorial's."""
    rate = size / statistics.median(t for spent in rounds for t in spent)
    ratios = [
        (size / statistics.median(ours)) / (tutorial_size / statistics.median(theirs))
        for ours, theirs in zip(rounds, tutorial)
    ]
    return f"{rate:>9.0f} {statistics.median(ratios):>10.2f}"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    runs = contenders(args.batch_size)
    both = race(runs, args.rounds, args.steps, args.warmup)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{cpu_name()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, {now}")
    print(f"{args.rounds} rounds of {args.steps} steps each, after {args.warmup} warm-up steps")
    print(f"{'':<28} {'wall clock':>20} {'CPU time':>20}")
    print(f"{'step':<22} {'batch':>5}" + f" {'images/s':>9} {'x tutorial':>10}" * 2)
    tutorial = "tutorial (float32)"
    for name, (size, _) in runs.items():
        columns = [
            report(size, times[name], times[tutorial], runs[tutorial][0]) for times in both.values()
        ]
        print(f"{name:<22} {size:>5} {' '.join(columns)}")


if __name__ == "__main__":
    main()
