"""What a finished run leaves: its export (with a fitted prior when the recipe asks for one),
scored as training.evaluate scores exports, with what training cost and its quality curve."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from training import curve, prior
from training.config import TrainConfig
from training.data import Mnist
from training.evaluate import Evaluator, saved_model_generator
from training.events import EventWriter
from training.export import export_generator, publish
from training.gan import GAN

log = logging.getLogger("training")


def export_run(
    gan: GAN,
    config: TrainConfig,
    out: Path,
    info: dict,
    mnist: Mnist,
    evaluator: Evaluator | None,
    events: EventWriter,
    models: Path,
    weights: str,
) -> Path:
    """Export the run in `out` as `models/<next version>`; `info` goes into its model.json."""
    if config.prior:
        try:
            return _export_with_prior(
                gan, config, out, info, mnist, evaluator, events, models, weights
            )
        except prior.PriorError as exc:  # e.g. a run too short to draw sure digits
            log.warning("exported without a prior: %s", exc)
            events.emit("warning", message=f"exported without a prior: {exc}")
    return export_generator(
        gan.sampler, config, models, info, extra_files=(out / "progress.gif",), weights=weights
    )


def _export_with_prior(gan, config, out, info, mnist, evaluator, events, models, weights) -> Path:
    """Fit a noise prior to the trained generator, score the result (what will be served) and
    publish it; the fit's time and its labeller's images count as training."""
    events.emit("stage", stage="prior", epoch=config.epochs, epochs=config.epochs)
    started = time.monotonic()
    staging = out / "export"
    shutil.rmtree(staging, ignore_errors=True)
    path = prior.export_with_prior(
        gan.sampler, config, info | {"weights": weights}, mnist, staging, out
    )
    record = json.loads((path / "model.json").read_text())
    record["images_seen"] = info["images_seen"] + prior.labeller_images(mnist)
    record["train_seconds"] = round(info["train_seconds"] + time.monotonic() - started, 1)
    if evaluator:
        generate, _ = saved_model_generator(path)
        record["metrics"] = score(evaluator, config, generate)
        totals = {k: record[k] for k in ("images_seen", "train_seconds")}
        record["curve"] = info["curve"] + [
            curve.point(config.epochs, "prior", totals, record["metrics"])
        ]
    (path / "model.json").write_text(json.dumps(record, indent=2) + "\n")
    return publish(path, models)


def score(evaluator: Evaluator, config: TrainConfig, generate) -> dict:
    """training.evaluate's numbers for any generate(noise, labels) -> images (array or tensor)."""

    def as_array(noise, labels):
        images = generate(noise, labels)
        return images.numpy() if hasattr(images, "numpy") else images

    return evaluator.evaluate(as_array, config.conditional, config.noise_dim)
