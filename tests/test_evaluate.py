"""Quality metrics: on a tiny generator in seconds, and on the committed models."""

import json
import math

import numpy as np
import pytest

from tests.conftest import ROOT
from training import memorisation
from training.data import load_mnist, scale_images
from training.evaluate import Evaluator, format_table, frechet_distance, load_classifier, main
from training.memorisation import MemorisationCheck, nearest_distances

CLASSIFIER = ROOT / "models" / "mnist-classifier"


@pytest.fixture(scope="module")
def evaluator(mnist_path):
    mnist = load_mnist(mnist_path)
    return Evaluator(load_classifier(CLASSIFIER), mnist, samples=1000)


def test_frechet_distance_is_zero_for_the_same_set_and_grows_with_a_shift():
    features = np.random.default_rng(0).standard_normal((2000, 8))
    assert abs(frechet_distance(features, features)) < 1e-6
    shifted = frechet_distance(features, features + 1.0)
    assert shifted == pytest.approx(8.0, rel=1e-6)  # ||mu_a - mu_b||^2 with equal covariances


def test_metrics_of_a_tiny_generator_are_in_range(evaluator, mnist_path):
    rng = np.random.default_rng(0)

    def noise_images(noise, labels):
        return rng.uniform(-1, 1, (len(noise), 28, 28, 1)).astype(np.float32)

    metrics = evaluator.evaluate(noise_images, conditional=True)
    assert metrics["samples"] == 1000
    assert metrics["fid_mnist"] >= 0 and metrics["fid_mnist_floor"] >= 0
    if len(load_mnist(mnist_path).x_train) >= 20_000:  # synthetic "digits" are noise too
        assert metrics["fid_mnist"] > metrics["fid_mnist_floor"]
    assert 0.1 <= metrics["confidence"] <= 1 and 0 <= metrics["confident_share"] <= 1
    assert sum(metrics["class_histogram"]) == pytest.approx(1, abs=1e-3)
    assert 0 <= metrics["class_entropy"] <= math.log(10) + 1e-9
    assert 0 <= metrics["digit_accuracy"] <= 1
    by_digit = metrics["digit_accuracy_by_digit"]
    assert len(by_digit) == 10 and all(0 <= a <= 1 for a in by_digit)
    # requested digits are balanced, so the overall accuracy is the mean of the per-digit ones
    assert abs(np.mean(by_digit) - metrics["digit_accuracy"]) < 1e-3
    assert "FID-MNIST" in format_table(metrics)


def test_real_digits_score_near_the_floor(evaluator, mnist_path):
    mnist = load_mnist(mnist_path)
    if len(mnist.x_train) < 20_000:
        pytest.skip("needs the real MNIST (MNIST_PATH)")
    real = (mnist.x_train[-1000:].astype(np.float32)[..., None] - 127.5) / 127.5
    metrics = evaluator.evaluate(lambda noise, labels: real[: len(noise)], conditional=False)
    assert metrics["confidence"] > 0.97 and metrics["class_entropy"] > 2.28
    # 1,000 samples bias the covariance (10,000 real digits score near the ~2.6 floor);
    # noise images score several hundred.
    assert metrics["fid_mnist"] < 50


@pytest.mark.slow
def test_committed_classifier_reaches_99_percent(mnist_path):
    mnist = load_mnist(mnist_path)
    if len(mnist.x_test) < 10_000:
        pytest.skip("needs the real MNIST test set (MNIST_PATH)")
    classifier = load_classifier(CLASSIFIER)
    images = (mnist.x_test.astype(np.float32)[..., None] - 127.5) / 127.5
    predicted = classifier.predict(images, batch_size=1000, verbose=0).argmax(1)
    assert (predicted == mnist.y_test).mean() >= 0.99


@pytest.mark.slow
def test_cli_prints_and_writes_model_json_only_when_asked(tmp_path, models_dir, mnist_path, capsys):
    import shutil

    version = tmp_path / "dcgan" / "1"
    shutil.copytree(models_dir / "dcgan" / "1", version)
    before = (version / "model.json").read_text()
    flags = ["--samples", "500", "--classifier", str(CLASSIFIER), "--data", str(mnist_path)]
    assert main([str(version), *flags]) == 0
    out = capsys.readouterr().out
    assert "dcgan@1, 500 samples" in out and "class entropy" in out
    assert "memorisation (500 samples)" in out and "nearest-training-image distance" in out
    assert (version / "model.json").read_text() == before

    assert main([str(version), *flags, "--write"]) == 0
    assert "written to" in capsys.readouterr().out
    metrics = json.loads((version / "model.json").read_text())["metrics"]
    assert metrics["samples"] == 500 and "digit_accuracy" not in metrics
    assert metrics["memorisation"]["samples"] == 500
    assert main([str(tmp_path / "nope")]) == 2


def serve(images: np.ndarray):
    """A "generator" that hands out `images` ([-1, 1]) in order, whatever noise it is given."""
    position = 0

    def generate(noise, labels):
        nonlocal position
        index = np.arange(position, position + len(noise)) % len(images)
        position += len(noise)
        return images[index]

    return generate


def test_nearest_distances_match_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    reference = rng.random((memorisation.BLOCK + 900, 16), dtype=np.float32)
    queries = rng.random((50, 16), dtype=np.float32)
    queries[:5] = reference[-5:]  # exact copies, in the last block
    brute = np.linalg.norm(queries[:, None].astype(np.float64) - reference[None], axis=2).min(1)
    np.testing.assert_allclose(nearest_distances(queries, reference), brute, atol=2e-3)
    assert nearest_distances(queries, reference)[:5].max() < 2e-3
    pixels = rng.integers(0, 256, (300, 784), dtype=np.uint8)  # uint8 reads as 0..255 -> [0, 1]
    as_units = pixels.astype(np.float32) / 255
    np.testing.assert_allclose(
        nearest_distances(as_units[:20], pixels[20:]),
        nearest_distances(as_units[:20], as_units[20:]),
        rtol=1e-6,
    )


def synthetic_check(samples: int = 300) -> tuple[MemorisationCheck, np.ndarray, np.ndarray]:
    """Random "digits": 3,000 training and 1,000 test images from one distribution."""
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (1000, 28, 28), dtype=np.uint8)
    return MemorisationCheck(x_train, x_test, samples), x_train, x_test


def test_memorisation_flags_a_generator_that_returns_training_images():
    check, x_train, _ = synthetic_check()
    result = check.check(scale_images(x_train[500:800]))
    assert result["flagged"] and result["close_share"] == 1.0
    assert result["median_ratio"] < 0.01 and result["samples"] == 300


def test_memorisation_passes_a_generator_that_returns_unseen_test_images():
    check, _, x_test = synthetic_check()
    unseen = np.setdiff1d(np.arange(len(x_test)), check.test_index)[:300]
    result = check.check(scale_images(x_test[unseen]))
    assert not result["flagged"] and result["close_share"] < 0.05
    assert 0.95 < result["median_ratio"] < 1.05
    assert result["test_close_share"] == pytest.approx(0.01, abs=0.004)  # by construction


def test_evaluator_flags_training_images_and_passes_test_images(evaluator, mnist_path):
    mnist = load_mnist(mnist_path)
    copies = evaluator.evaluate(serve(scale_images(mnist.x_train[:3000])), conditional=False)
    copied = copies["memorisation"]
    assert copied["flagged"] and copied["close_share"] == 1.0 and copied["median_ratio"] < 0.01
    assert "FLAGGED" in format_table(copies)
    # Real MNIST: test digits the check does not measure itself; synthetic: too few of those.
    unseen = np.setdiff1d(np.arange(len(mnist.x_test)), evaluator.memorisation.test_index)
    test = unseen if len(unseen) >= evaluator.samples else np.arange(len(mnist.x_test))
    fresh = evaluator.evaluate(serve(scale_images(mnist.x_test[test])), conditional=False)
    result = fresh["memorisation"]
    assert not result["flagged"] and result["close_share"] < 0.03
    assert 0.9 < result["median_ratio"] < 1.1
