"""The noise priors an export's signature can apply: draws, their shares, exact rows."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import QUIET_TF, ROOT
from training.config import TrainConfig
from training.export import export_generator
from training.latent import Prior, mixture_latent
from training.models import make_pair

MEANS = np.array([[0, 0, 0, 0, 0], [30, 0, 0, 0, 0], [0, 0, 0, 0, 20.0]])
CHOLESKY = np.stack([np.eye(5), 2 * np.eye(5), np.tril(np.ones((5, 5)))])
WEIGHTS = np.array([0.2, 0.5, 0.3])


def test_one_standard_mode_gives_the_noise_back():
    noise = np.random.default_rng(0).standard_normal((10_000, 100)).astype(np.float32)
    identity = Prior(np.zeros((1, 100)), np.eye(100)[None], np.ones(1)).arrays()
    np.testing.assert_allclose(mixture_latent(noise, *identity).numpy(), noise, atol=1e-6)


def test_draws_take_each_mode_by_its_weight_with_its_mean_and_covariance():
    noise = np.random.default_rng(0).standard_normal((200_000, 5)).astype(np.float32)
    z = mixture_latent(noise, *Prior(MEANS, CHOLESKY, WEIGHTS).arrays()).numpy()
    # the modes lie far apart: tell them apart by where the draw landed
    mode = np.where(z[:, 4] > 10, 2, np.where(z[:, 0] > 15, 1, 0))
    np.testing.assert_allclose(np.bincount(mode) / len(mode), WEIGHTS, atol=0.005)
    for k in range(3):
        np.testing.assert_allclose(z[mode == k].mean(0), MEANS[k], atol=0.1)
        covariance = CHOLESKY[k] @ CHOLESKY[k].T
        np.testing.assert_allclose(np.cov(z[mode == k].T), covariance, atol=0.1 * k + 0.05)


SERVED = """
import sys, numpy as np
from pathlib import Path
from app.serving.generator import Options, configure_precision
from app.serving.registry import ModelRegistry
configure_precision(sys.argv[2])
version = Path(sys.argv[1])
model = ModelRegistry(version.parent.parent, "dcgan", Options(sys.argv[2], "auto", 64)).load(
    "dcgan", 1, version)
assert model.status == "ready", model.error
print("sizes", model.generator.sizes)
"""


@pytest.mark.slow
def test_the_service_finds_exact_batches_for_a_prior_export_in_both_precisions(tmp_path):
    """Its self-test compares batched rows with rows alone, bit for bit; bfloat16's graph rewrite
    is process-wide, so a process each."""
    generator, _ = make_pair(False)
    prior = Prior(
        np.random.default_rng(1).standard_normal((10, 100)),
        np.tril(np.random.default_rng(2).standard_normal((10, 100, 100))) / 10,
        np.full(10, 0.1),
    )
    version = export_generator(generator, TrainConfig(), tmp_path / "dcgan", {}, prior=prior)
    for precision in ("float32", "bfloat16"):
        done = subprocess.run(
            [sys.executable, "-c", SERVED, str(version), precision],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**QUIET_TF, "PATH": "/usr/bin:/bin"},
            timeout=300,
        )
        assert done.returncode == 0, (precision, done.stderr[-2000:])
        assert "sizes (1, 2, 4, 8, 16, 32, 64)" in done.stdout, (precision, done.stdout)


def test_a_draw_is_float32_and_finite_in_the_far_tails():
    noise = np.zeros((3, 5), np.float32)
    noise[:, -1] = [-40.0, 0.0, 40.0]  # picks the first and the last mode at the extremes
    z = mixture_latent(noise, *Prior(MEANS, CHOLESKY, WEIGHTS).arrays())
    assert z.dtype == tf.float32 and np.isfinite(z.numpy()).all()
    assert z.numpy()[0, 0] < 15 and z.numpy()[2, 4] > 10
