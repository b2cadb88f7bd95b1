"""The training loop: epochs of steps, samples, checkpoints, events, a clean stop and resume."""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from training.config import NUM_CLASSES, TrainConfig
from training.data import Mnist, make_dataset
from training.events import EventWriter, ProgressBar
from training.gan import GAN, is_chief, pick_strategy
from training.samples import save_gif, save_sample

log = logging.getLogger("training")
KEEP_CHECKPOINTS = 3


class RunError(Exception):
    """The run cannot start as asked (e.g. --resume with nothing to resume)."""


@dataclasses.dataclass
class RunResult:
    epochs_done: int
    stopped: bool  # True when a signal stopped the run before its last epoch
    g_loss: float = math.nan
    d_loss: float = math.nan
    images_per_sec: float = 0.0
    metrics: dict = dataclasses.field(default_factory=dict)


class StopFlag:
    """SIGINT/SIGTERM ask for a clean stop at the next step; a second SIGINT stops at once.

    Use as a context manager: the previous handlers come back on exit.
    """

    def __init__(self):
        self.requested = False
        self._previous: dict = {}

    def __enter__(self) -> StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("%s received: stopping after this step", signal.Signals(signum).name)


def progress_inputs(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The fixed 16 noise vectors (and digits 0..9,0..5) drawn into every epoch's grid."""
    noise = np.random.default_rng(config.seed).standard_normal((16, config.noise_dim))
    return noise.astype(np.float32), (np.arange(16) % NUM_CLASSES).astype(np.int32)


def train_and_evaluate(
    config: TrainConfig,
    workdir: Path,
    mnist: Mnist,
    *,
    resume: bool = False,
    events: EventWriter | None = None,
    stop: StopFlag | None = None,
    evaluate: Callable[[GAN], dict] | None = None,
) -> tuple[GAN, RunResult]:
    """Train (or continue) the run in `workdir` up to `config.epochs` epochs."""
    events = events or EventWriter(None)
    stop = stop or StopFlag()
    strategy = pick_strategy()
    chief = is_chief()
    # Non-chief workers must join every checkpoint save, but into a throwaway folder.
    out = workdir if chief else Path(tempfile.mkdtemp(prefix="dcgan-worker-"))
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    gan = GAN(config, strategy)
    noise, labels = progress_inputs(config)
    state = tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        g_opt=gan.g_opt,
        d_opt=gan.d_opt,
        epoch=tf.Variable(0, dtype=tf.int64),  # epochs fully done
        step_in_epoch=tf.Variable(0, dtype=tf.int64),  # steps done of the next epoch
        progress_noise=tf.Variable(noise),
    )
    manager = tf.train.CheckpointManager(state, out / "checkpoints", max_to_keep=KEEP_CHECKPOINTS)
    if resume:
        if manager.latest_checkpoint is None:
            raise RunError(f"{workdir}: no checkpoint to resume from")
        state.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log.info("resumed from %s", manager.latest_checkpoint)
    elif manager.latest_checkpoint is not None:
        raise RunError(f"{workdir}: holds checkpoints already; pass --resume or another --out")
    config.save(out / "config.json")

    images, digit_labels = mnist.x_train, mnist.y_train
    if config.limit:
        images, digit_labels = images[: config.limit], digit_labels[: config.limit]
    steps_per_epoch = math.ceil(len(images) / config.batch_size)
    start_epoch = int(state.epoch) + 1
    events.emit(
        "start",
        config=config.to_dict(),
        start_epoch=start_epoch,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        train_images=len(images),
        dataset=mnist.source,
        replicas=strategy.num_replicas_in_sync,
    )
    result = RunResult(epochs_done=int(state.epoch), stopped=False)

    def save_checkpoint() -> None:
        path = manager.save()
        events.emit(
            "checkpoint", epoch=int(state.epoch), step_in_epoch=int(state.step_in_epoch), path=path
        )
        log.info("checkpoint %s", path)

    epoch_times: list[float] = []
    for epoch in range(start_epoch, config.epochs + 1):
        skip = int(state.step_in_epoch)
        dataset = make_dataset(images, digit_labels, config.batch_size, config.seed, epoch)
        dataset = strategy.experimental_distribute_dataset(dataset.skip(skip))
        bar = ProgressBar(steps_per_epoch, f"epoch {epoch}/{config.epochs}")
        g_sum = d_sum = 0.0
        seen = steps = 0
        started = last_event = time.monotonic()
        for batch_images, batch_labels in dataset:
            g_loss, d_loss = gan.train_step(batch_images, batch_labels)
            steps += 1
            seen += _batch_size(batch_images)
            g_sum, d_sum = g_sum + g_loss, d_sum + d_loss
            state.step_in_epoch.assign_add(1)
            bar.update(skip + steps, g=g_sum / steps, d=d_sum / steps)
            if time.monotonic() - last_event >= 5:
                last_event = time.monotonic()
                events.emit(
                    "progress",
                    epoch=epoch,
                    epochs=config.epochs,
                    step=skip + steps,
                    steps=steps_per_epoch,
                    g_loss=g_sum / steps,
                    d_loss=d_sum / steps,
                    images_per_sec=seen / (last_event - started),
                )
            if stop.requested:
                break
        bar.close()
        if stop.requested and int(state.step_in_epoch) < steps_per_epoch:
            save_checkpoint()
            result.stopped = True
            break
        seconds = time.monotonic() - started
        epoch_times.append(seconds)
        state.epoch.assign(epoch)
        state.step_in_epoch.assign(0)
        result.epochs_done = epoch
        if steps:
            result.g_loss, result.d_loss = g_sum / steps, d_sum / steps
            result.images_per_sec = seen / seconds
        sample = None
        if chief:
            sample = str(save_sample(gan.generate(noise, labels).numpy(), out, epoch))
        record = dict(
            epoch=epoch,
            epochs=config.epochs,
            g_loss=result.g_loss,
            d_loss=result.d_loss,
            seconds=round(seconds, 3),
            images_per_sec=round(result.images_per_sec, 1),
            sample=sample,
            eta_seconds=round(np.mean(epoch_times) * (config.epochs - epoch), 1),
        )
        if evaluate and (epoch % config.eval_every == 0 or epoch == config.epochs):
            result.metrics = evaluate(gan)
            record["metrics"] = result.metrics
        events.emit("epoch", **record)
        log.info(
            "epoch %d/%d  %.1fs  g_loss %.4f  d_loss %.4f  %.0f images/s",
            epoch,
            config.epochs,
            seconds,
            result.g_loss,
            result.d_loss,
            result.images_per_sec,
        )
        if epoch % config.checkpoint_every == 0 or epoch == config.epochs or stop.requested:
            save_checkpoint()
        if stop.requested:
            result.stopped = epoch < config.epochs
            break

    if chief:
        save_gif(out)
    else:
        shutil.rmtree(out, ignore_errors=True)
    return gan, result


def _batch_size(batch) -> int:
    """Images in a batch, whether it is one tensor or a per-replica value."""
    parts = getattr(batch, "values", (batch,))
    return sum(int(p.shape[0]) for p in parts)
