"""python -m training.prior: one Gaussian per digit, fitted where the generator draws it."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import export_tiny, spread_prior
from training.config import TrainConfig
from training.export import export_generator
from training.latent import mixture_latent
from training.models import make_pair
from training.prior import SURE, fit_prior, main


def label_by_first_coordinate(codes: np.ndarray) -> np.ndarray:
    """'Images' that are the codes themselves: the digit is the first coordinate's decile, and
    the labeller is unsure (0.5) within 0.01 of a decile's edge."""
    u = 0.5 * tf.math.erfc(-codes[:, 0] / np.sqrt(2)).numpy()  # the standard normal's CDF
    digit = np.minimum((u * 10).astype(int), 9)
    edge = np.abs(u * 10 - np.rint(u * 10)) < 0.1
    probs = np.full((len(codes), 10), 0.0)
    probs[np.arange(len(codes)), digit] = np.where(edge, 0.5, 1.0)
    return probs


def test_each_digit_gets_the_mean_and_covariance_of_its_sure_codes():
    weights = np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum()
    prior, kept = fit_prior(lambda x: x, label_by_first_coordinate, weights, 8, 20_000, seed=3)
    codes = np.random.default_rng(3).standard_normal((20_000, 8)).astype(np.float32)
    probs = label_by_first_coordinate(codes)
    for d in range(10):
        mine = codes[(probs.argmax(1) == d) & (probs.max(1) >= SURE)].astype(np.float64)
        assert kept[d] == len(mine) and 1_000 < len(mine) < 2_000
        np.testing.assert_allclose(prior.means[d], mine.mean(0), rtol=1e-10)
        np.testing.assert_allclose(prior.cholesky[d] @ prior.cholesky[d].T, np.cov(mine.T))
        np.testing.assert_array_equal(prior.cholesky[d], np.tril(prior.cholesky[d]))
    np.testing.assert_array_equal(prior.weights, weights)


def test_too_few_sure_codes_for_a_digit_is_a_clear_error():
    with pytest.raises(ValueError, match=r"only \d+ of 1000 samples are a sure \d; .*--samples"):
        fit_prior(lambda x: x, label_by_first_coordinate, np.full(10, 0.1), 100, 1_000)


def test_an_export_with_a_prior_serves_the_generator_on_its_draws(tmp_path):
    generator, _ = make_pair(False)
    prior, _ = fit_prior(lambda x: x, label_by_first_coordinate, np.full(10, 0.1), 100, 30_000)
    version = export_generator(generator, TrainConfig(), tmp_path / "dcgan", {}, prior=prior)
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    noise = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    images = serve(noise=tf.constant(noise))["images"].numpy()
    drawn = mixture_latent(noise, *prior.arrays())
    np.testing.assert_array_equal(images, generator(drawn, training=False).numpy())
    assert np.abs(images - generator(noise, training=False).numpy()).max() > 0.01


def test_a_prior_export_has_its_two_halves_as_signatures_and_says_so(tmp_path):
    """noise_to_latent then latent_to_images is serving_default to the bit; without a prior,
    there is nothing to split."""
    version = export_tiny(tmp_path / "dcgan", conditional=False, seed=1, prior=spread_prior())
    signatures = tf.saved_model.load(str(version)).signatures
    noise = tf.constant(np.random.default_rng(1).standard_normal((8, 100)).astype(np.float32))
    codes = signatures["noise_to_latent"](noise=noise)["latent"]
    np.testing.assert_array_equal(
        signatures["latent_to_images"](latent=codes)["images"].numpy(),
        signatures["serving_default"](noise=noise)["images"].numpy(),
    )
    declared = json.loads((version / "model.json").read_text())["signature"]
    assert declared["latent_signatures"] == {
        "noise_to_latent": {"inputs": {"noise": [None, 100]}, "outputs": {"latent": [None, 100]}},
        "latent_to_images": {
            "inputs": {"latent": [None, 100]},
            "outputs": {"images": [None, 28, 28, 1]},
        },
    }
    plain = export_tiny(tmp_path / "plain", conditional=False, seed=1)
    assert set(tf.saved_model.load(str(plain)).signatures) == {"serving_default"}
    assert "latent_signatures" not in json.loads((plain / "model.json").read_text())["signature"]


@pytest.mark.slow
def test_cli_refuses_what_it_cannot_fit_in_one_line(tmp_path, mnist_path, capsys):
    conditional = export_tiny(tmp_path / "cdcgan", conditional=True, seed=1)
    assert main([str(conditional), "--data", str(mnist_path)]) == 2
    assert "draws the digit asked for already" in capsys.readouterr().err
    # an untrained generator draws noise: too few sure digits for 1,000 samples
    plain = export_tiny(tmp_path / "dcgan", conditional=False, seed=1)
    assert main([str(plain), "--samples", "1000", "--data", str(mnist_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("python -m training.prior: error: only ")
    assert "of 1000 samples are a sure" in err[-1]
    versions = sorted(p.name for p in (tmp_path / "dcgan").iterdir() if not p.name.startswith("."))
    assert versions == ["1"]  # nothing exported, nothing half-exported
    assert main([str(tmp_path / "nothing")]) == 2
