"""Export an existing version again as the next one, e.g. with its weights stored in float16.

    python -m training.reexport models/cdcgan/2 --export-weights float16

The new version keeps the old one's `model.json` (training parameters, epochs, dataset) and names
its source in `reexported_from`. Its quality numbers are dropped when the stored weights change
(float32 to float16): score it with `python -m training.evaluate models/NAME/VERSION`. A fitted
prior is kept, and so are its latent signatures, but only on weights that do not change: it was
fitted to them."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from training import cliutil
from training.config import TrainConfig
from training.export import Serving, export_generator, saved_model_dir
from training.latent import Prior
from training.models import generator_for

log = logging.getLogger("training")
# export_generator writes these anew; the metrics were of the old weights
NOT_KEPT = {"name", "version", "conditional", "noise_dim", "image_shape", "weights", "signature"}
NOT_KEPT |= {"created", "tensorflow", "training", "metrics"}


def load_generator(version_dir: Path) -> tuple[keras.Model, TrainConfig, dict]:
    """The Keras generator of an export, its training config and its model.json."""
    info = json.loads((version_dir / "model.json").read_text())
    config = TrainConfig.from_dict(info["training"])
    generator = generator_for(config.conditional, config.noise_dim)
    variables = str(saved_model_dir(version_dir) / "variables" / "variables")
    if "weights" not in info:  # exports from before --export-weights saved the Keras model
        tf.train.Checkpoint(generator=generator).restore(variables).expect_partial()
    else:
        stored = Serving(generator, config.conditional, config.noise_dim, info["weights"])
        saved = tf.train.Checkpoint(trainable=stored.trainable, non_trainable=stored.non_trainable)
        saved.restore(variables).expect_partial()
        live = generator.trainable_variables + generator.non_trainable_variables
        for variable, copy in zip(live, stored.trainable + stored.non_trainable, strict=True):
            variable.assign(tf.cast(copy, variable.dtype))
    return generator, config, info


def load_prior(version_dir: Path, info: dict) -> Prior | None:
    """The fitted prior an export's signature draws from, as stored (None: it has none)."""
    if not info.get("prior"):
        return None
    modes, dim = info["prior"]["modes"], info["noise_dim"]
    # Serving.prior, as Prior.arrays() gives them
    stored = [
        tf.Variable(np.zeros(s, np.float32)) for s in ((modes, dim), (modes, dim, dim), modes)
    ]
    variables = str(saved_model_dir(version_dir) / "variables" / "variables")
    tf.train.Checkpoint(prior=stored).restore(variables).expect_partial()
    means, cholesky, cumulative = (v.numpy() for v in stored)
    prior = Prior(means, cholesky, np.diff(cumulative.astype(np.float64), prepend=0.0))
    if not all(np.array_equal(a, v) for a, v in zip(prior.arrays(), stored, strict=True)):
        raise ValueError(f"{version_dir}: its prior does not read back exactly")
    return prior


def main(argv: list[str] | None = None) -> int:
    parser = cliutil.Parser(prog="python -m training.reexport", description=__doc__)
    cliutil.add_version_dir_arg(parser)
    cliutil.add_export_weights_flag(parser)
    args = parser.parse_args(argv)
    cliutil.setup_logging()
    if problem := cliutil.not_an_export(args.version_dir):
        return cliutil.fail(parser.prog, problem)
    generator, config, info = load_generator(args.version_dir)
    # only float32 -> float16 changes the numbers (before --export-weights: the model's dtypes)
    narrowed = (info.get("weights"), args.export_weights) == ("float32", "float16")
    same_weights = "weights" in info and not narrowed
    if info.get("prior") and not same_weights:  # its draws were fitted to the stored weights
        return cliutil.fail(
            parser.prog,
            "its prior was fitted to its float32 weights: keep --export-weights float32, "
            "or fit a prior again on its source",
        )
    try:
        prior = load_prior(args.version_dir, info)
    except ValueError as exc:
        return cliutil.fail(parser.prog, str(exc))
    metadata = {k: v for k, v in info.items() if k not in NOT_KEPT}
    if same_weights and "metrics" in info:  # the same weights draw the same images
        metadata["metrics"] = info["metrics"]
    metadata["reexported_from"] = f"{info['name']}@{info['version']}"
    gif = args.version_dir / "progress.gif"
    path = export_generator(
        generator,
        config,
        args.version_dir.parent,
        metadata,
        extra_files=(gif,),
        weights=args.export_weights,
        prior=prior,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
