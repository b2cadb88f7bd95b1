"""Shared fixtures: MNIST (real when MNIST_PATH names it, else a small synthetic stand-in)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}
# Fixtures that export and load generators: seconds a module, so their tests are `slow` (make
# test-fast is the layer that loads no model).
LOADS_MODELS = {"models_dir", "prior_models_dir", "registry", "classify", "evaluator"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LOADS_MODELS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def small_mnist(mnist_path, tmp_path_factory) -> Path:
    """The first 2,048 training and 512 test images of `mnist_path`: a server whose jobs run a
    recipe as written (the README's quick job) in seconds instead of minutes."""
    with np.load(mnist_path) as full:
        arrays = {key: full[key][: 2048 if "train" in key else 512] for key in full.files}
    path = tmp_path_factory.mktemp("small-mnist") / "mnist.npz"
    np.savez(path, **arrays)
    return path


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


def export_tiny(base: Path, conditional: bool, seed: int, prior=None, **kwargs) -> Path:
    """An untrained generator of the real architecture, exported as the trainer would (with
    `prior`: as training.prior would)."""
    import keras

    from training.config import TrainConfig
    from training.export import export_generator
    from training.models import make_pair

    keras.utils.set_random_seed(seed)
    generator, _ = make_pair(conditional)
    config = TrainConfig(conditional=conditional)
    return export_generator(generator, config, base, {}, prior=prior, **kwargs)


def spread_prior(noise_dim: int = 100, modes: int = 10):
    """Narrow Gaussians far apart (a training.latent.Prior): walked through its noise, a
    generator jumps from mode to mode, as the shipped dcgan@3 jumps from digit to digit."""
    from training.latent import Prior

    means = 3 * np.random.default_rng(0).standard_normal((modes, noise_dim))
    return Prior(means, np.stack([0.5 * np.eye(noise_dim)] * modes), np.full(modes, 1 / modes))


@pytest.fixture(scope="session")
def prior_models_dir(tmp_path_factory) -> Path:
    """prior@1: an export with a fitted prior (spread_prior), and its latent signatures."""
    root = tmp_path_factory.mktemp("prior-models")
    export_tiny(root / "prior", conditional=False, seed=1, prior=spread_prior())
    return root


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """dcgan@1, dcgan@2 (active), cdcgan@1 (conditional), broken@1 (unreadable) and a folder
    without versions (like the evaluation classifier), which is not a generator."""
    root = tmp_path_factory.mktemp("models")
    export_tiny(root / "dcgan", conditional=False, seed=1)
    export_tiny(root / "dcgan", conditional=False, seed=2)
    export_tiny(root / "cdcgan", conditional=True, seed=3)
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.json").write_text("{not json")
    # the committed evaluation classifier: jobs with eval_every use it rather than train one
    shutil.copytree(ROOT / "models" / "mnist-classifier", root / "mnist-classifier")
    return root


def tiny_dcgan(models_dir: Path):
    """dcgan@1 of models_dir, loaded (and self-tested) for calls of up to 64 images."""
    from app.serving.generator import Options
    from app.serving.registry import ModelRegistry

    registry = ModelRegistry(models_dir, "dcgan", Options(max_rows=64))
    return registry.load("dcgan", 1, models_dir / "dcgan" / "1")


@pytest.fixture(scope="session")
def settings(models_dir, tmp_path_factory):
    from app.config import Settings

    # 64 images a call at most: a quicker load-time self-test for every app the tests start
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(models_dir=models_dir, data_dir=data_dir, batch_max_images=64)


@pytest.fixture(scope="module")
def client(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


def image(response):
    """The PIL image of a 200 response's body."""
    import io

    from PIL import Image

    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def tiles(png: bytes, n: int, cols: int, scale: int = 1) -> list:
    """Cut a grid PNG back into its n 28x28 tiles (numpy arrays)."""
    import io

    from PIL import Image

    canvas = np.asarray(Image.open(io.BytesIO(png)))[::scale, ::scale]
    step = 28 + 2
    return [
        canvas[
            (i // cols) * step : (i // cols) * step + 28, (i % cols) * step : (i % cols) * step + 28
        ]
        for i in range(n)
    ]


def service_env(root: Path, models_dir: Path, mnist_path: Path, token: str) -> dict:
    """Settings for a server with its own copy of the models folder and its own data folder."""
    shutil.copytree(models_dir, root / "models")
    return {
        "DCGAN_MODELS_DIR": str(root / "models"),
        "DCGAN_DATA_DIR": str(root / "data"),
        "DCGAN_API_TOKEN": token,
        "DCGAN_MNIST_PATH": str(mnist_path),
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(subprocess.Popen):
    """A server process whose stderr is drained into `.log` as it comes (a full pipe would
    block it)."""

    def __init__(self, command: list[str], env: dict):
        super().__init__(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for line in self.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        """stderr so far; all of it once the process has exited."""
        if self.poll() is not None:
            self._reader.join(timeout=10)
        return "".join(self.lines)


def start_server(env: dict, *args: str) -> tuple[Server, str]:
    """`dcgan-serve` (uvicorn) on a free loopback port; returns (process, base URL)."""
    port = free_port()
    command = [sys.executable, "-m", "app.api.server", "--host", "127.0.0.1"]
    proc = Server([*command, "--port", str(port), *args], {**os.environ, **QUIET_TF, **env})
    return proc, f"http://127.0.0.1:{port}"


@contextmanager
def serving(env: dict) -> Iterator[str]:
    """A started and ready `dcgan-serve`'s base URL; the server is killed on exit."""
    proc, url = start_server(env)
    try:
        wait_ready(proc, url)
        yield url
    finally:
        proc.kill()
        proc.wait()


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 90) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.log[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server not ready in time")


@contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """A real filesystem of `size` (tmpfs) mounted at `path`, to fill up; skips the test where
    mounting is not allowed (not root)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its disk is full; returns the file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: full
        pass
    finally:
        os.close(fd)
    return filler
