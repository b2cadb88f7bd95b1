"""Shared fixtures: MNIST (real when MNIST_PATH names it, else a small synthetic stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def synthetic_mnist(path: Path, train: int = 2048, test: int = 512) -> Path:
    """Keras-format arrays of the right shapes and dtypes: enough to train on, not real digits."""
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, train).astype(np.uint8),
        x_test=rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, test).astype(np.uint8),
    )
    return path


@pytest.fixture(scope="session")
def mnist_path(tmp_path_factory) -> Path:
    env = os.environ.get("MNIST_PATH")
    if env and Path(env).exists():
        return Path(env).resolve()
    return synthetic_mnist(tmp_path_factory.mktemp("mnist") / "mnist.npz")


def train_cli(*args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    """`python -m training ARGS` in a subprocess; Popen when `background=True`."""
    background = kwargs.pop("background", False)
    command = [sys.executable, "-m", "training", *map(str, args)]
    options = dict(cwd=ROOT, env={**os.environ, **QUIET_TF}, text=True)
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    return subprocess.run(command, capture_output=True, timeout=300, **options, **kwargs)


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
