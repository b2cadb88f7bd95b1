"""Quality metrics: on a tiny generator in seconds, and on the committed models."""

import json
import math

import numpy as np
import pytest

from tests.conftest import ROOT
from training.data import load_mnist
from training.evaluate import Evaluator, format_table, frechet_distance, load_classifier, main

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


def test_metrics_of_a_tiny_generator_are_in_range(evaluator):
    rng = np.random.default_rng(0)

    def noise_images(noise, labels):
        return rng.uniform(-1, 1, (len(noise), 28, 28, 1)).astype(np.float32)

    metrics = evaluator.evaluate(noise_images, conditional=True)
    assert metrics["samples"] == 1000
    assert metrics["fid_mnist"] > metrics["fid_mnist_floor"] >= 0
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


def test_committed_classifier_reaches_99_percent(mnist_path):
    mnist = load_mnist(mnist_path)
    if len(mnist.x_test) < 10_000:
        pytest.skip("needs the real MNIST test set (MNIST_PATH)")
    classifier = load_classifier(CLASSIFIER)
    images = (mnist.x_test.astype(np.float32)[..., None] - 127.5) / 127.5
    predicted = classifier.predict(images, batch_size=1000, verbose=0).argmax(1)
    assert (predicted == mnist.y_test).mean() >= 0.99


def test_cli_writes_metrics_into_model_json(tmp_path, models_dir, mnist_path, capsys):
    import shutil

    version = tmp_path / "dcgan" / "1"
    shutil.copytree(models_dir / "dcgan" / "1", version)
    status = main(
        [
            str(version),
            "--samples",
            "500",
            "--classifier",
            str(CLASSIFIER),
            "--data",
            str(mnist_path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "dcgan@1, 500 samples" in out and "class entropy" in out
    metrics = json.loads((version / "model.json").read_text())["metrics"]
    assert metrics["samples"] == 500 and "digit_accuracy" not in metrics
    assert main([str(tmp_path / "nope")]) == 2
