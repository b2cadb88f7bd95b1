"""What the three command lines share: flags, logging and one-line errors.

`dcgan-train`, `python -m training.evaluate` and `python -m training.average` report every bad
argument as one line, `PROG: error: message` on stderr, and exit with status 2. Imports no
TensorFlow, so a bad flag fails fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from training.config import EXPORT_WEIGHTS

CLASSIFIER_DIR = Path("models/mnist-classifier")  # relative to the working folder, as models/
log = logging.getLogger("training")


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise SystemExit(fail(self.prog, f"{message} (see --help)"))


def fail(prog: str, message: str, status: int = 2) -> int:
    """Print `PROG: error: message` on stderr as one line; return the exit status."""
    one_line = " ".join(str(message).split())
    print(f"{prog}: error: {one_line}", file=sys.stderr)
    return status


def add_data_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default=None,
        help="Keras mnist.npz or folder of MNIST IDX files "
        "(default: $MNIST_PATH, else keras.datasets.mnist)",
    )


def add_classifier_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--classifier",
        type=Path,
        default=CLASSIFIER_DIR,
        help=f"the evaluation classifier's folder, trained there when missing "
        f"(default: {CLASSIFIER_DIR})",
    )


def add_version_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version_dir", type=Path, help="an export: models/NAME/VERSION")


def not_an_export(version_dir: Path) -> str | None:
    """Why `version_dir` is no export (no model.json), or None when it is one."""
    if (version_dir / "model.json").exists():
        return None
    return f"{version_dir}: no model.json (expected models/NAME/VERSION)"


def add_export_weights_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--export-weights",
        choices=EXPORT_WEIGHTS,
        default="float32",
        help="how the export stores the generator's weights; float16 halves its size and "
        "it still computes in float32 (default: float32)",
    )


def int_at_least(minimum: int):
    """An argparse type: an integer >= minimum, else a one-line error naming the bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (tests swap it), not the one at set-up."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    """The `training` logger's lines on stderr, once each, however often a CLI's main runs."""
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False  # TensorFlow puts a handler on the root logger
    # Silences TensorFlow's C++ warnings when it is imported later (its first lines regardless).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")


def set_process(nice: int, parent: int | None) -> None:
    """Priority, and SIGTERM when `parent` dies, set by the process itself: a parent that starts
    it from a multi-threaded service must not run code between fork and exec."""
    if nice:
        os.nice(nice)
    if parent is not None and sys.platform == "linux":
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM, which checkpoints and stops
        if os.getppid() != parent:  # it died before the line above ran
            os.kill(os.getpid(), signal.SIGTERM)
