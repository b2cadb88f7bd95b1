"""Export an existing version again as the next one, e.g. with its weights stored in float16.

    python -m training.reexport models/cdcgan/2 --export-weights float16

The new version keeps the old one's `model.json` (training parameters, epochs, dataset) and names
its source in `reexported_from`. Its quality numbers are dropped, since the stored weights
changed: score it with `python -m training.evaluate models/NAME/VERSION`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import keras
import tensorflow as tf

from training import cliutil
from training.config import TrainConfig
from training.export import Serving, export_generator, saved_model_dir
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


def main(argv: list[str] | None = None) -> int:
    parser = cliutil.Parser(prog="python -m training.reexport", description=__doc__)
    cliutil.add_version_dir_arg(parser)
    cliutil.add_export_weights_flag(parser)
    args = parser.parse_args(argv)
    cliutil.setup_logging()
    if problem := cliutil.not_an_export(args.version_dir):
        return cliutil.fail(parser.prog, problem)
    generator, config, info = load_generator(args.version_dir)
    if info.get("prior"):  # its draws were fitted to the source's weights, not to these
        return cliutil.fail(parser.prog, "it has a fitted prior: fit one again on its source")
    metadata = {k: v for k, v in info.items() if k not in NOT_KEPT}
    metadata["reexported_from"] = f"{info['name']}@{info['version']}"
    gif = args.version_dir / "progress.gif"
    path = export_generator(
        generator,
        config,
        args.version_dir.parent,
        metadata,
        extra_files=(gif,),
        weights=args.export_weights,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
