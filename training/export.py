"""Export a generator as a self-contained SavedModel plus `model.json`, as a new integer version.

The contract with the service: `serving_default` takes `noise` float32 [N, noise_dim] (and `labels`
int32 [N] when conditional) and returns `images` float32 [N, 28, 28, 1] in [-1, 1]. The noise is
standard normal; an export with a fitted prior (training.prior) maps it inside the signature, and
has two more signatures, so that a walk can move where the generator's input lives rather than
through the noise (whose last coordinate jumps from digit to digit): `noise_to_latent` (`noise` ->
`latent`, the prior's draws) and `latent_to_images` (`latent` (+ `labels`) -> `images`, the
generator). `serving_default` equals the second applied to the first; `model.json` declares both
under `signature.latent_signatures`.

Layout, TF Serving's: `models/NAME/VERSION/` is the SavedModel itself (`saved_model.pb`,
`variables/`, `fingerprint.pb`), so TF Serving can serve `models/NAME` as it is; `model.json`,
`grid.png` and `progress.gif` sit beside them, and TF Serving ignores files it does not know in a
version folder. Exports before this layout kept the SavedModel in `VERSION/saved_model/`;
`saved_model_dir` reads both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from training.config import IMAGE_SHAPE, NUM_CLASSES, TrainConfig
from training.latent import Prior, mixture_latent
from training.models import generator_for
from training.samples import grid_image

log = logging.getLogger("training")
NOISE_TO_LATENT, LATENT_TO_IMAGES = "noise_to_latent", "latent_to_images"
# Shared with the service (app/serving/modelsdir.py spells them too): the highest version a
# name ever had, never exported again (the service raises it before it deletes a version), and the
# folder an export is written in before it is renamed to its version.
LAST_VERSION_FILE = ".last-version"
EXPORT_PREFIX = ".tmp-export-"


class Serving(tf.Module):
    """The signature over copies of the generator's weights stored as `weights`: float16 halves
    the export, and every call computes in float32 from them (the casts cost no measurable time)."""

    def __init__(
        self,
        generator: keras.Model,
        conditional: bool,
        noise_dim: int,
        weights: str,
        prior: Prior | None = None,
    ):
        super().__init__()
        self.trainable = [_stored(v, weights) for v in generator.trainable_variables]
        self.non_trainable = [_stored(v, weights) for v in generator.non_trainable_variables]
        # float32 always: the prior's draws must not move with the weights' storage
        self.prior = [tf.Variable(a, trainable=False) for a in prior.arrays()] if prior else []

        def images(inputs):
            # stateless_call reads these copies, so the model's own variables stay out of the
            # SavedModel; the closure keeps the model itself from being tracked and saved.
            float32 = [
                [tf.cast(v, tf.float32) for v in vs] for vs in (self.trainable, self.non_trainable)
            ]
            images, _ = generator.stateless_call(*float32, inputs, training=False)
            return {"images": tf.cast(images, tf.float32)}

        def latent(noise):
            return mixture_latent(noise, *self.prior) if self.prior else noise

        def run(noise):
            return images(latent(noise))

        def conditional_run(noise, labels):
            return images([latent(noise), labels])

        labels = [tf.TensorSpec([None], tf.int32, name="labels")] if conditional else []
        noise = tf.TensorSpec([None, noise_dim], tf.float32, name="noise")
        serve = conditional_run if conditional else run
        self.serve = tf.function(serve, input_signature=[noise, *labels])
        self.latent_signatures = {}
        if prior:  # serving_default split in two, for walks between the prior's draws
            codes = tf.TensorSpec([None, noise_dim], tf.float32, name="latent")
            self.latent_signatures = {
                NOISE_TO_LATENT: tf.function(
                    lambda noise: {"latent": latent(noise)}, input_signature=[noise]
                ),
                LATENT_TO_IMAGES: tf.function(
                    (lambda codes, labels: images([codes, labels])) if conditional else images,
                    input_signature=[codes, *labels],
                ),
            }


def _stored(variable, weights: str) -> tf.Variable:
    return tf.Variable(tf.cast(variable, weights), trainable=False)


def float32_copy(generator: keras.Model, config: TrainConfig) -> keras.Model:
    """The same weights in a float32 generator, so a bfloat16 run serves exactly everywhere."""
    copy = generator_for(config.conditional, config.noise_dim)
    copy.set_weights(generator.get_weights())
    return copy


def preview_grid(serve, config: TrainConfig, seed: int = 42, scale: int = 2) -> Image.Image:
    """The service's /generate?n=16&seed=42 (conditional: digits 0..9 cycling), for READMEs."""
    noise = np.random.default_rng(seed).standard_normal((16, config.noise_dim)).astype(np.float32)
    labels = (np.arange(16) % NUM_CLASSES).astype(np.int32)
    images = serve(noise, labels) if config.conditional else serve(noise)
    image = grid_image(images["images"].numpy())
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def next_version(base: Path) -> int:
    """One above every version on disk and above the name's high-water mark: a deleted version's
    number is never used again."""
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()]
    mark = base / LAST_VERSION_FILE
    text = mark.read_text().strip() if mark.exists() else ""
    return max([*versions, int(text) if text.isdigit() else 0]) + 1


@contextlib.contextmanager
def _version_lock(base: Path) -> Iterator[None]:
    """The high-water mark's lock (flock), held while a version is numbered; the service takes
    it to raise the mark."""
    fd = os.open(base / LAST_VERSION_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _removed_on_failure(tmp: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_generator(
    generator: keras.Model,
    config: TrainConfig,
    base: Path,
    metadata: dict,
    extra_files: tuple[Path, ...] = (),
    weights: str = "float32",
    prior: Prior | None = None,
) -> Path:
    """Write `base/<next version>/` atomically: a temporary folder renamed when complete.
    `weights`: how the SavedModel stores them, float32 or float16 (half the size); `prior`: the
    noise distribution the signature maps the caller's standard normal noise to (None: itself)."""
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f"{EXPORT_PREFIX}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    with _removed_on_failure(tmp):  # a full disk must not stay full of half an export
        copy = float32_copy(generator, config)
        module = Serving(copy, config.conditional, config.noise_dim, weights, prior)
        signatures = {"serving_default": module.serve, **module.latent_signatures}
        tf.saved_model.save(module, str(tmp), signatures=signatures)
        preview_grid(module.serve, config).save(tmp / "grid.png")
        for path in extra_files:
            if path.exists():
                shutil.copy2(path, tmp / path.name)
        info = {
            "name": base.name,
            "conditional": config.conditional,
            "noise_dim": config.noise_dim,
            "image_shape": list(IMAGE_SHAPE),
            "weights": weights,
            "signature": signature_info(config, bool(prior)),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tensorflow": tf.__version__,
            "training": config.to_dict(),
            **metadata,
        }
        if prior:  # whatever else the caller says of it, model.json says it is there
            info["prior"] = {"modes": len(prior.weights), **metadata.get("prior", {})}
        return _claim_version(tmp, base, info)


def publish(version_dir: Path, base: Path) -> Path:
    """Move a finished export (its model.json as it stands) into `base` as its next version."""
    base.mkdir(parents=True, exist_ok=True)
    info = json.loads((version_dir / "model.json").read_text())
    tmp = base / f"{EXPORT_PREFIX}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.move(version_dir, tmp)
    return _claim_version(tmp, base, info | {"name": base.name})


def _claim_version(tmp: Path, base: Path, info: dict) -> Path:
    """Write model.json into the complete folder `tmp` and rename it to `base/<next version>`,
    then raise the high-water mark to it."""
    with _version_lock(base):  # exporters elsewhere, and the service's deletes, wait
        while True:  # an exporter of an older release may take a number without the lock
            version = next_version(base)
            info = {"name": info["name"], "version": version} | info | {"version": version}
            (tmp / "model.json").write_text(json.dumps(info, indent=2) + "\n")
            try:
                tmp.rename(base / str(version))
                break
            except OSError:
                if not (base / str(version)).exists():
                    raise
        (base / LAST_VERSION_FILE).write_text(f"{version}\n")
    log.info("exported %s", base / str(version))
    return base / str(version)


def signature_info(config: TrainConfig, latent: bool) -> dict:
    """model.json's `signature`: serving_default's tensors, and the latent signatures' if any."""
    noise = {"noise": [None, config.noise_dim]}
    labels = {"labels": [None]} if config.conditional else {}
    images = {"images": [None, *IMAGE_SHAPE]}
    info = {"inputs": noise | labels, "outputs": images, "range": [-1.0, 1.0]}
    if latent:
        info["latent_signatures"] = {
            NOISE_TO_LATENT: {"inputs": noise, "outputs": {"latent": [None, config.noise_dim]}},
            LATENT_TO_IMAGES: {
                "inputs": {"latent": [None, config.noise_dim]} | labels,
                "outputs": images,
            },
        }
    return info


def saved_model_dir(version_dir: Path) -> Path:
    """Where a version's SavedModel is: the version folder, or `saved_model/` in an old export."""
    if (version_dir / "saved_model.pb").exists():
        return version_dir
    old = version_dir / "saved_model"
    if (old / "saved_model.pb").exists():
        log.info("%s: SavedModel in saved_model/ (the layout before TF Serving's)", version_dir)
        return old
    raise FileNotFoundError(f"{version_dir}: no saved_model.pb (expected an export's version)")
