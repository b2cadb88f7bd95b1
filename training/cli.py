"""`python -m training` / `dcgan-train`: flags onto a TrainConfig, then train_and_evaluate."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from training import cliutil, recipes
from training.config import TrainConfig

log = logging.getLogger("training")
DEFAULTS = TrainConfig()
PROG = "dcgan-train"


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: only flags given on the command line appear, so --resume can tell what changed.
    p = cliutil.Parser(
        prog=PROG,
        description="Train the TensorFlow DCGAN tutorial's GAN on MNIST; resume; export.",
        argument_default=argparse.SUPPRESS,
    )
    d = DEFAULTS
    cliutil.add_data_flag(p)
    p.add_argument(
        "--recipe",
        choices=list(recipes.RECIPES),
        help="start from a named recipe's values; other flags override them. "
        + "; ".join(f"{name}: {text}" for name, text in recipes.describe().items())
        + f" (default: {recipes.DEFAULT}; every default below is the tutorial's)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="folder for checkpoints, samples, GIF and config "
        "(default: runs/dcgan, or runs/cdcgan with --conditional)",
    )
    p.add_argument("--epochs", type=int, help=f"total epochs to train (default: {d.epochs})")
    p.add_argument("--batch-size", type=int, help=f"global batch size (default: {d.batch_size})")
    p.add_argument(
        "--learning-rate",
        type=float,
        help=f"Adam learning rate of both networks (default: {d.learning_rate})",
    )
    p.add_argument("--beta-1", type=float, help=f"Adam beta_1 (default: {d.beta_1})")
    p.add_argument(
        "--label-smoothing",
        type=float,
        help="one-sided: the discriminator's real targets become 1 - this (default: 0)",
    )
    p.add_argument(
        "--ema-decay",
        type=float,
        metavar="D",
        help="keep an exponential moving average of the generator's weights (e.g. 0.999) and "
        "use it for samples, evaluation and export (default: 0, off, as the tutorial)",
    )
    p.add_argument(
        "--lr-decay-epochs",
        type=int,
        metavar="K",
        help="lower both learning rates linearly over the last K epochs (default: 0, constant)",
    )
    p.add_argument(
        "--top-k",
        type=float,
        metavar="SHARE",
        help="top-k training: the generator learns only from the fakes the discriminator rates "
        "best, all at first, 1%% fewer each epoch, down to this share (e.g. 0.5; default: 1, off)",
    )
    p.add_argument(
        "--r1-gamma",
        type=float,
        metavar="G",
        help="R1 penalty: the discriminator's loss adds G/2 times the squared gradient of its "
        "output on real images (Mescheder et al., 2018; e.g. 1; default: 0, off)",
    )
    p.add_argument(
        "--r1-every",
        type=int,
        metavar="N",
        help="lazy R1: the penalty on every Nth step only, N times as strong (StyleGAN2; e.g. 16; "
        "default: 1, every step)",
    )
    p.add_argument("--seed", type=int, help=f"random seed (default: {d.seed})")
    p.add_argument(
        "--conditional",
        action="store_true",
        help="train the class-conditional pair, G(noise, digit)",
    )
    p.add_argument(
        "--mixed-precision",
        choices=["float32", "bfloat16", "auto"],
        help="compute dtype; variables stay float32; auto: bfloat16 where the CPU has AMX or "
        "AVX512-BF16 (default: float32)",
    )
    p.add_argument("--limit", type=int, help="train on the first N images only (quick runs)")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        help=f"epochs between checkpoints (default: {d.checkpoint_every})",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        metavar="N",
        help="keep the latest N checkpoints; keep more to average the generators of "
        f"several epochs with training.average (default: {d.keep_checkpoints})",
    )
    p.add_argument(
        "--eval-every",
        type=int,
        metavar="K",
        help="every K epochs (and at the end) score 10,000 samples with "
        "training.evaluate and add the numbers to the epoch event (default: off)",
    )
    cliutil.add_classifier_flag(p)
    p.add_argument(
        "--resume",
        action="store_true",
        default=False,
        help="continue the run in --out from its latest checkpoint; flags given now "
        "override its saved ones",
    )
    p.add_argument(
        "--export",
        type=Path,
        metavar="MODELS/NAME",
        help="at the end, export the generator as MODELS/NAME/<next version>",
    )
    cliutil.add_export_weights_flag(p)
    p.add_argument(
        "--events",
        metavar="FILE",
        help="append JSON-lines events to FILE ('-' for stdout); in a multi-worker run only "
        "the chief writes FILE, the other workers report only to '-'",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="lower this process's CPU priority by N first (the service starts jobs at 10)",
    )
    p.add_argument(
        "--stop-with-parent",
        type=int,
        default=None,
        metavar="PID",
        help="stop (checkpointing, as on SIGTERM) when PID, the process that started this "
        "one, dies",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False,
        help="debug logging, and tracebacks on errors",
    )
    return p


def make_config(args: argparse.Namespace, saved: TrainConfig | None) -> TrainConfig:
    """Saved config (on resume) or defaults, overridden by the flags given; ValueError when the
    result is not a valid run (TrainConfig.validate names the flag)."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }
    recipe = getattr(args, "recipe", None)
    if saved is None:
        config = recipes.resolve(recipe or recipes.DEFAULT, given)
    elif "conditional" in given and given["conditional"] != saved.conditional:
        raise ValueError("--conditional cannot change on --resume")
    elif recipe and recipe != saved.recipe:
        raise ValueError(f"--recipe cannot change on --resume (the run is {saved.recipe})")
    else:
        config = recipes.override(saved, given)
    config = config.resolved()
    config.validate()
    return config


def main(argv: list[str] | None = None) -> int:
    """Every bad argument is one `dcgan-train: error:` line and status 2, before TF loads."""
    args = build_parser().parse_args(argv)
    cliutil.setup_logging(args.verbose)
    cliutil.set_process(args.nice, args.stop_with_parent)
    conditional = getattr(args, "conditional", False)
    out: Path = getattr(args, "out", Path("runs") / ("cdcgan" if conditional else "dcgan"))
    try:
        saved = TrainConfig.load(out / "config.json") if args.resume else None
    except FileNotFoundError:
        return cliutil.fail(PROG, f"{out}: no run to resume (no config.json)")
    try:
        config = make_config(args, saved)
    except ValueError as exc:
        return cliutil.fail(PROG, str(exc))
    return _run(config, out, args)


def _run(config: TrainConfig, out: Path, args: argparse.Namespace) -> int:
    """Train and export, turning every failure into one line, an `error` event and a status."""
    from training.data import DataError
    from training.events import EventWriter
    from training.gan import is_chief
    from training.stop import StopFlag
    from training.train import RunError

    chief = is_chief()
    events = EventWriter(_events_target(getattr(args, "events", None), chief))
    try:
        with StopFlag() as stop:
            _train_and_export(config, out, args, events, stop, chief)
        return 0
    except (DataError, RunError) as exc:
        events.emit("error", message=str(exc))
        return cliutil.fail(PROG, str(exc))
    except Exception as exc:
        events.emit("error", message=f"{type(exc).__name__}: {exc}")
        if args.verbose:
            raise
        message = f"{type(exc).__name__}: {exc} (run with --verbose for the traceback)"
        return cliutil.fail(PROG, message, status=1)
    finally:
        events.close()


def _events_target(target: str | None, chief: bool) -> str | None:
    """The chief writes --events; another worker only to stdout, so files stay the chief's."""
    if chief or target in (None, "-"):
        return target
    log.info("not the chief: no events to %s (pass --events - for this worker's)", target)
    return None


def _train_and_export(config, out, args, events, stop, chief: bool) -> None:
    from training import curve
    from training.data import load_mnist
    from training.outputs import export_run, score
    from training.train import train_and_evaluate

    mnist = load_mnist(args.data)
    # Only the chief scores and exports; the others' generators hold the same weights.
    evaluator = _evaluator(config, mnist, args) if chief else None
    evaluate = evaluator and (lambda gan: score(evaluator, config, gan.generate))
    gan, result = train_and_evaluate(
        config, out, mnist, resume=args.resume, events=events, stop=stop, evaluate=evaluate
    )
    if result.stopped:
        log.info(
            "stopped after epoch %d; continue with: dcgan-train --resume --out %s",
            result.epochs_done,
            out,
        )
    elif hasattr(args, "export") and chief:
        info = {
            "epochs_trained": result.epochs_done,
            "dataset": mnist.describe(config.limit),
            "metrics": result.metrics,
            **result.totals,
            "curve": curve.read(out / curve.FILE),
        }
        # `--resume --epochs <epochs done>` exports a stopped run as it is: no epoch ran now
        if result.images_per_sec:
            info["final_losses"] = {"generator": result.g_loss, "discriminator": result.d_loss}
            info["images_per_sec"] = round(result.images_per_sec, 1)
        elif evaluate:
            info["metrics"] = evaluate(gan)
        path = export_run(gan, config, out, info, mnist, evaluator, events, args.export,
                          args.export_weights)  # fmt: skip
        events.emit("export", path=str(path), version=int(path.name))
    events.emit("done", epochs_done=result.epochs_done, stopped=result.stopped)


def _evaluator(config: TrainConfig, mnist, args: argparse.Namespace):
    """The --eval-every scorer (None when off): training.evaluate's, for the run's generators."""
    if not config.eval_every:
        return None
    from training.evaluate import Evaluator, load_classifier

    return Evaluator(load_classifier(args.classifier, mnist), mnist)
