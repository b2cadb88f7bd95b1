"""Export an unconditional generator again with a noise prior fitted to it: one Gaussian per digit.

    python -m training.prior models/dcgan/4 [--samples 60000] [--out models/dcgan]

A continuous generator fed one Gaussian must pass through blends on its way from one digit to
the next (Khayatkhoei et al., "Disconnected Manifold Learning for Generative Adversarial
Networks", 2018): about one sample in seven is such a blend. This draws `--samples` noise
vectors, has a labeller name the digit of each image, keeps the codes it is sure of (>= 0.9),
fits each digit's codes with a full-covariance Gaussian and weighs the digits as MNIST's training
set does. The same generator is exported as the next version with that mixture inside its
signature, so callers still send standard normal noise, and with that signature's two halves
beside it (noise -> the mixture's draws -> images: training/export.py), so that a walk can move
between draws rather than through the noise. The labeller is a small MLP trained here, not the
evaluation classifier, so the prior is not fitted to the judge that scores it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from training import cliutil
from training.config import NUM_CLASSES, TrainConfig
from training.data import DataError, Mnist, load_mnist
from training.evaluate import train_classifier
from training.export import export_generator
from training.latent import Prior
from training.reexport import NOT_KEPT, load_generator

log = logging.getLogger("training")
SURE = 0.9  # a code counts for its digit when the labeller gives that digit at least this
SAMPLES = 60_000
LABELLER_EPOCHS = 3
BATCH = 1_000


class PriorError(ValueError):
    """The generator does not draw every digit surely often enough to fit its Gaussian."""


def make_labeller() -> keras.Model:
    """A one-hidden-layer MLP (digit logits out): cheap to train, accurate enough to sort codes by
    digit (docs/training.md, 'A prior fitted to the generator')."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(NUM_CLASSES),
        ]
    )


def fit_prior(
    generate: Callable[[np.ndarray], np.ndarray],
    label: Callable[[np.ndarray], np.ndarray],
    weights: np.ndarray,
    noise_dim: int,
    samples: int = SAMPLES,
    seed: int = 0,
) -> tuple[Prior, list[int]]:
    """The per-digit Gaussian prior, and how many sure codes each digit's Gaussian was fitted on.

    `generate`: noise -> images; `label`: images -> class probabilities [N, K]; `weights`: each
    digit's share of the draws. PriorError when a digit has too few sure codes for a covariance."""
    noise = np.random.default_rng(seed).standard_normal((samples, noise_dim)).astype(np.float32)
    probs = np.concatenate(
        [label(generate(noise[i : i + BATCH])) for i in range(0, samples, BATCH)]
    )
    digit, sure = probs.argmax(1), probs.max(1) >= SURE
    means, factors, kept = [], [], []
    for d in range(len(weights)):
        codes = noise[(digit == d) & sure].astype(np.float64)
        if len(codes) <= 2 * noise_dim:
            raise PriorError(
                f"only {len(codes)} of {samples} samples are a sure {d}; a covariance needs "
                f"more than {2 * noise_dim}: raise --samples"
            )
        means.append(codes.mean(0))
        factors.append(np.linalg.cholesky(np.cov(codes.T)))
        kept.append(len(codes))
    return Prior(np.stack(means), np.stack(factors), np.asarray(weights, np.float64)), kept


def export_with_prior(
    generator: keras.Model,
    config: TrainConfig,
    info: dict,
    mnist: Mnist,
    out: Path,
    source: Path | None = None,
    samples: int = SAMPLES,
    seed: int = 0,
) -> Path:
    """Fit the prior to `generator` and export it with it as `out/<next version>`. `info`: the
    model.json of what it was fitted to (kept but for what describes another export)."""
    labeller, accuracy = train_classifier(
        mnist, LABELLER_EPOCHS, seed=1, make=make_labeller, verbose=0
    )
    log.info("labeller: test accuracy %.4f", accuracy)
    weights = np.bincount(mnist.y_train, minlength=NUM_CLASSES) / len(mnist.y_train)
    prior, kept = fit_prior(
        lambda noise: generator(noise, training=False).numpy(),
        lambda images: tf.nn.softmax(labeller(images, training=False)).numpy(),
        weights,
        config.noise_dim,
        samples,
        seed,
    )
    log.info("sure codes per digit: %s", kept)
    metadata = {k: v for k, v in info.items() if k not in NOT_KEPT}
    fitted_to = f"{info['name']}@{info['version']}" if "version" in info else "the run's generator"
    metadata["prior"] = {
        "kind": "one full-covariance Gaussian per digit (training.prior)",
        "fitted_to": fitted_to,
        "samples": samples,
        "seed": seed,
        "sure": SURE,
        "sure_codes": kept,
        "weights": [round(float(w), 4) for w in weights],
        "labeller_accuracy": round(accuracy, 4),
    }
    return export_generator(
        generator,
        config,
        out,
        metadata,
        extra_files=(source / "progress.gif",) if source else (),
        weights=info.get("weights", "float32"),
        prior=prior,
    )


def labeller_images(mnist: Mnist) -> int:
    """Training images the labeller's fit processes (a prior's share of a run's cost)."""
    return LABELLER_EPOCHS * len(mnist.x_train)


def main(argv: list[str] | None = None) -> int:
    parser = cliutil.Parser(prog="python -m training.prior", description=__doc__)
    cliutil.add_version_dir_arg(parser)
    parser.add_argument(
        "--samples",
        type=cliutil.int_at_least(1_000),
        default=SAMPLES,
        help=f"noise vectors drawn and labelled to fit the prior (default: {SAMPLES})",
    )
    parser.add_argument("--seed", type=int, default=0, help="the draws' seed (default: 0)")
    parser.add_argument(
        "--out", type=Path, help="the model folder to export into (default: the source's)"
    )
    cliutil.add_data_flag(parser)
    args = parser.parse_args(argv)
    cliutil.setup_logging()
    if problem := cliutil.not_an_export(args.version_dir):
        return cliutil.fail(parser.prog, problem)
    generator, config, info = load_generator(args.version_dir)
    if config.conditional:
        return cliutil.fail(parser.prog, "a conditional model draws the digit asked for already")
    if info.get("prior"):
        return cliutil.fail(parser.prog, f"{args.version_dir} has a fitted prior already")
    try:
        mnist = load_mnist(args.data)
    except DataError as exc:
        return cliutil.fail(parser.prog, str(exc))
    try:
        path = export_with_prior(
            generator,
            config,
            info,
            mnist,
            args.out or args.version_dir.parent,
            source=args.version_dir,
            samples=args.samples,
            seed=args.seed,
        )
    except PriorError as exc:
        return cliutil.fail(parser.prog, str(exc))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
