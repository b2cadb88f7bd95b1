"""What one stage of a training run holds: the GAN, its checkpoint state, data and outputs."""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from training import curve
from training.config import NUM_CLASSES, Segment, TrainConfig
from training.data import Mnist, make_dataset
from training.events import EventWriter, ProgressBar
from training.gan import GAN, is_chief, pick_strategy
from training.samples import save_gif, save_sample
from training.stop import StopFlag

log = logging.getLogger("training")


class RunError(Exception):
    """The run cannot start as asked (e.g. --resume with nothing to resume)."""


def progress_inputs(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The fixed 16 noise vectors (and digits 0..9,0..5) drawn into every epoch's grid."""
    noise = np.random.default_rng(config.seed).standard_normal((16, config.noise_dim))
    return noise.astype(np.float32), (np.arange(16) % NUM_CLASSES).astype(np.int32)


@dataclasses.dataclass
class EpochStats:
    steps: int = 0
    images: int = 0
    g_sum: float = 0.0
    d_sum: float = 0.0
    seconds: float = 0.0

    @property
    def means(self) -> dict:
        steps = max(self.steps, 1)
        return {
            "g_loss": self.g_sum / steps,
            "d_loss": self.d_sum / steps,
            "images_per_sec": self.images / max(self.seconds, 1e-9),
        }


class Run:
    """What one training run holds: the GAN, its checkpoint state, data and outputs.

    Multi-worker (TF_CONFIG): only the chief writes samples, the GIF, config and checkpoints into
    `workdir`. The others still save each checkpoint, into a temporary folder removed at the end:
    under MultiWorkerMirroredStrategy saving is collective when a variable is synchronised on read
    (none is today: a non-chief that skipped its saves kept in step, tried on TF 2.21), and
    TensorFlow's multi-worker guide asks every worker to save. Resuming such a run needs
    `workdir` on a shared filesystem: every worker restores the chief's checkpoint from there.
    """

    def __init__(
        self,
        full: TrainConfig,
        segment: Segment,
        workdir: Path,
        mnist: Mnist,
        events: EventWriter,
        stop: StopFlag,
    ):
        # `full` is saved (a resumed run needs its stages); `config` is this stage's fields.
        self.full, self.segment, self.config = full, segment, full.at(segment.first)
        self.workdir, self.mnist = workdir, mnist
        self.events, self.stop = events, stop
        config = self.config
        self.strategy = pick_strategy()
        self.chief = is_chief()
        self.out = workdir if self.chief else Path(tempfile.mkdtemp(prefix="dcgan-worker-"))
        self.out.mkdir(parents=True, exist_ok=True)
        keras.utils.set_random_seed(config.seed)
        self.gan = GAN(config, self.strategy)
        noise, self.progress_labels = progress_inputs(config)
        self.objects = dict(
            generator=self.gan.generator,
            discriminator=self.gan.discriminator,
            g_opt=self.gan.g_opt,
            d_opt=self.gan.d_opt,
            epoch=tf.Variable(0, dtype=tf.int64),  # epochs fully done
            step_in_epoch=tf.Variable(0, dtype=tf.int64),  # steps done of the next epoch
            progress_noise=tf.Variable(noise),
            # Keras leaves its dropout seed states out of checkpoints; without them a resumed
            # run would drop other units than an uninterrupted one.
            seed_states=[v.value for v in self.gan.discriminator.variables if _is_seed(v)],
            # what the run has cost so far, all stages and resumes: model.json reports them
            images_seen=tf.Variable(0, dtype=tf.int64),
            train_seconds=tf.Variable(0.0, dtype=tf.float64),
        )
        if config.ema_decay:
            self.objects["ema_generator"] = self.gan.ema_generator
        self.state = tf.train.Checkpoint(**self.objects)
        self.manager = tf.train.CheckpointManager(
            self.state, self.out / "checkpoints", max_to_keep=config.keep_checkpoints
        )
        self.images, self.labels = mnist.x_train, mnist.y_train
        if config.limit:
            self.images, self.labels = self.images[: config.limit], self.labels[: config.limit]
        self.steps_per_epoch = math.ceil(len(self.images) / config.batch_size)

    def restore(self, resume: bool) -> None:
        # The chief's checkpoints, whichever worker this is (manager.directory is ours).
        latest = tf.train.latest_checkpoint(str(self.workdir / "checkpoints"))
        if resume:
            if latest is None:
                raise RunError(f"{self.workdir}: no checkpoint to resume from")
            self._restore(latest)
        elif latest is not None:
            raise RunError(
                f"{self.workdir}: holds checkpoints already; pass --resume or another --out"
            )
        self.full.save(self.out / "config.json")
        self._trim_curve()
        self.events.emit(
            "start",
            config=self.full.to_dict(),
            stage=self.segment.name,
            stages=[s.name for s in self.full.segments()],
            start_epoch=int(self.state.epoch) + 1,
            epochs=self.config.epochs,
            steps_per_epoch=self.steps_per_epoch,
            train_images=len(self.images),
            dataset=self.mnist.source,
            replicas=self.strategy.num_replicas_in_sync,
        )

    def _restore(self, latest: str) -> None:
        saved = {name.split("/")[0] for name, _ in tf.train.list_variables(latest)}
        # Older runs lack these; anything else missing is another kind of run.
        optional = {"ema_generator", "seed_states", "images_seen", "train_seconds"}
        missing = optional & (self.objects.keys() - saved)
        present = {k: v for k, v in self.objects.items() if k not in missing}
        restored = tf.train.Checkpoint(**present)
        status = restored.restore(latest)
        # expect_partial: a run resumed with EMA off leaves its saved EMA weights unused
        status.expect_partial().assert_existing_objects_matched()
        # Numbering goes on from the saved count: restarting at ckpt-1 would overwrite kept files.
        self.state.save_counter.assign(restored.save_counter)
        ema = self.gan.ema_generator
        if "ema_generator" in missing and ema is not None:  # EMA on now: from the generator
            ema.set_weights(self.gan.generator.get_weights())
        log.info(
            "resumed from %s%s", latest, f" (had no {', '.join(sorted(missing))})" * bool(missing)
        )

    def train_epoch(self, epoch: int) -> EpochStats:
        """Steps until the epoch ends or a stop is asked for; a progress event every 5 s."""
        cfg, skip = self.config, int(self.state.step_in_epoch)
        dataset = make_dataset(self.images, self.labels, cfg.batch_size, cfg.seed, epoch)
        dataset = self.strategy.experimental_distribute_dataset(dataset.skip(skip))
        bar = ProgressBar(self.steps_per_epoch, f"epoch {epoch}/{cfg.epochs}")
        stats = EpochStats()
        started = last_event = time.monotonic()
        for batch_images, batch_labels in dataset:
            g_loss, d_loss = self.gan.train_step(batch_images, batch_labels)
            stats.steps += 1
            stats.images += _batch_size(batch_images)
            stats.g_sum, stats.d_sum = stats.g_sum + g_loss, stats.d_sum + d_loss
            stats.seconds = time.monotonic() - started
            self.state.step_in_epoch.assign_add(1)
            means = stats.means
            bar.update(skip + stats.steps, g=means["g_loss"], d=means["d_loss"])
            if time.monotonic() - last_event >= 5:
                last_event = time.monotonic()
                self.events.emit(
                    "progress",
                    epoch=epoch,
                    epochs=cfg.epochs,
                    stage=self.segment.name,
                    step=skip + stats.steps,
                    steps=self.steps_per_epoch,
                    **means,
                )
            if self.stop.requested:
                break
        bar.close()
        stats.seconds = time.monotonic() - started
        return stats

    def count(self, stats: EpochStats) -> None:
        """Add an epoch's (or a stopped epoch's part's) images and seconds to the run's totals."""
        self.state.images_seen.assign_add(stats.images)
        self.state.train_seconds.assign_add(stats.seconds)

    def totals(self) -> dict:
        return {
            "images_seen": int(self.state.images_seen),
            "train_seconds": round(float(self.state.train_seconds), 1),
        }

    @property
    def curve_path(self) -> Path:
        return self.out / curve.FILE

    def add_to_curve(self, epoch: int, metrics: dict) -> None:
        """Append an evaluation to the run's quality curve (curve.json, exported with it)."""
        if not self.chief:
            return
        point = curve.point(epoch, self.segment.name, self.totals(), metrics)
        curve.write(self.curve_path, curve.read(self.curve_path) + [point])

    def _trim_curve(self) -> None:
        """A resumed run evaluates again what it trains again: drop the points after its
        checkpoint."""
        points = curve.read(self.curve_path)
        kept = [p for p in points if p["epoch"] <= int(self.state.epoch)]
        if kept != points:
            curve.write(self.curve_path, kept)

    def save_sample(self, epoch: int) -> str | None:
        """The fixed progress noise drawn as this epoch's grid (by the chief only)."""
        if not self.chief:
            return None
        noise = self.state.progress_noise.numpy()
        images = self.gan.generate(noise, self.progress_labels).numpy()
        return str(save_sample(images, self.out, epoch))

    def checkpoint(self) -> None:
        path = self.manager.save()
        self.events.emit(
            "checkpoint",
            epoch=int(self.state.epoch),
            step_in_epoch=int(self.state.step_in_epoch),
            path=path,
        )
        log.info("checkpoint %s", path)

    def finish(self) -> None:
        if self.chief:
            save_gif(self.out)

    def close(self) -> None:
        """Whatever happened: a non-chief worker's temporary folder goes."""
        if not self.chief:
            shutil.rmtree(self.out, ignore_errors=True)


def _is_seed(variable) -> bool:
    return variable.path.endswith("seed_generator_state")


def _batch_size(batch) -> int:
    """Images in a batch, whether it is one tensor or a per-replica value."""
    parts = getattr(batch, "values", (batch,))
    return sum(int(p.shape[0]) for p in parts)
