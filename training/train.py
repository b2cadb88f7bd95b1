"""The training loop: the run's stages, each a loop of epochs with samples, checkpoints and
events, a clean stop and resume."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from training.config import TrainConfig
from training.data import Mnist
from training.events import EventWriter
from training.gan import GAN
from training.run import Run, RunError
from training.stop import StopFlag

__all__ = ["RunError", "RunResult", "epochs_done", "train_and_evaluate"]
log = logging.getLogger("training")


@dataclasses.dataclass
class RunResult:
    epochs_done: int
    stopped: bool  # True when a signal stopped the run before its last epoch
    g_loss: float = math.nan
    d_loss: float = math.nan
    images_per_sec: float = 0.0
    metrics: dict = dataclasses.field(default_factory=dict)
    totals: dict = dataclasses.field(default_factory=dict)  # images_seen, train_seconds so far


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
    """Train (or continue) the run in `workdir` up to `config.epochs` epochs, stage by stage.

    Each stage (config.segments()) builds its step from the fields in force then and restores
    the checkpoint the previous stage left, so a resumed run goes on in the stage it was in.
    In a multi-worker run (TF_CONFIG) only the chief writes into `workdir`; see _Run."""
    events, stop = events or EventWriter(None), stop or StopFlag()
    done = epochs_done(workdir) if resume else 0
    gan, result = None, RunResult(epochs_done=done, stopped=False)
    for segment in config.segments():
        if segment.last <= done and segment.index < len(config.segments()) - 1:
            continue
        run = Run(config, segment, workdir, mnist, events, stop)
        try:
            result = _train(run, resume or segment.first > 1, evaluate)
        finally:
            run.close()
        gan = run.gan
        if result.stopped:
            break
    assert gan is not None  # the last segment always runs
    return gan, result


def epochs_done(workdir: Path) -> int:
    """Epochs the run's latest checkpoint holds fully done (0 without one)."""
    latest = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
    if latest is None:
        return 0
    return int(tf.train.load_variable(latest, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))


def _train(run: Run, resume: bool, evaluate: Callable[[GAN], dict] | None) -> RunResult:
    config, last = run.config, run.segment.last
    run.restore(resume)
    result = RunResult(epochs_done=int(run.state.epoch), stopped=False)
    epoch_times: list[float] = []
    for epoch in range(int(run.state.epoch) + 1, last + 1):
        run.gan.set_learning_rate(config.learning_rate_at(epoch))
        run.gan.set_top_k(config.top_k_at(epoch))
        stats = run.train_epoch(epoch)
        run.count(stats)
        if run.stop.requested and int(run.state.step_in_epoch) < run.steps_per_epoch:
            run.checkpoint()  # mid-epoch: the resumed run continues at the next batch
            result.stopped = True
            break
        run.state.epoch.assign(epoch)
        run.state.step_in_epoch.assign(0)
        epoch_times.append(stats.seconds)
        means = stats.means
        result.epochs_done, result.g_loss, result.d_loss = epoch, means["g_loss"], means["d_loss"]
        result.images_per_sec = means["images_per_sec"]
        record = dict(
            epoch=epoch,
            epochs=config.epochs,
            stage=run.segment.name,
            **means,
            seconds=round(stats.seconds, 3),
            **run.totals(),
            sample=run.save_sample(epoch),
            eta_seconds=round(np.mean(epoch_times) * (config.epochs - epoch), 1),
        )
        if evaluate and (epoch % config.eval_every == 0 or epoch == config.epochs):
            result.metrics = record["metrics"] = evaluate(run.gan)
            run.add_to_curve(epoch, result.metrics)
        run.events.emit("epoch", **record)
        log.info(
            "epoch %d/%d  %.1fs  g_loss %.4f  d_loss %.4f  %.0f images/s",
            epoch,
            config.epochs,
            stats.seconds,
            result.g_loss,
            result.d_loss,
            result.images_per_sec,
        )
        if epoch % config.checkpoint_every == 0 or epoch == last or run.stop.requested:
            run.checkpoint()
        if run.stop.requested:
            result.stopped = epoch < config.epochs
            break
    run.finish()
    result.totals = run.totals()
    return result
