"""How good are a generator's digits? Judged by a small MNIST classifier trained here.

    python -m training.evaluate models/NAME/VERSION [--samples 10000] [--write]

Prints FID-MNIST (Frechet distance of classifier features, samples vs the MNIST test set) beside
its floor (train vs test), mean top-class confidence, the share classified with confidence >= 0.9,
the predicted-class histogram and its entropy (ln 10 = 2.303 when every digit is equally common),
for conditional models the share classified as the requested digit, and a memorisation check
(training.memorisation: are samples closer to training images than unseen digits are?); with
--write, records them in the version's model.json.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from training import cliutil, memorisation
from training.data import DataError, Mnist, load_mnist, scale_images
from training.export import saved_model_dir

log = logging.getLogger("training")
EVAL_SEED = 20_240_601
Generate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (noise, labels) -> images in [-1, 1]


def make_classifier() -> keras.Model:
    """A small CNN; its 128-d 'features' layer is what FID-MNIST compares."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu", name="features"),
            layers.Dropout(0.5),
            layers.Dense(10, name="logits"),
        ],
        name="mnist_classifier",
    )


def train_classifier(
    mnist: Mnist,
    epochs: int = 8,
    seed: int = 0,
    make: Callable[[], keras.Model] = make_classifier,
    verbose: int = 2,
) -> tuple[keras.Model, float]:
    """Train `make()` (digit logits out) on MNIST, and its test accuracy (make_classifier's:
    docs/training.md, 'Quality')."""
    keras.utils.set_random_seed(seed)
    model = make()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        metrics=["accuracy"],
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x_test, y_test = scale_images(mnist.x_test), mnist.y_test
    model.fit(
        scale_images(mnist.x_train),
        mnist.y_train,
        batch_size=128,
        epochs=epochs,
        validation_data=(x_test, y_test),
        verbose=verbose,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return model, float(accuracy)


def load_classifier(
    folder: Path = cliutil.CLASSIFIER_DIR, mnist: Mnist | None = None
) -> keras.Model:
    """The committed classifier; trained (and cached in `folder`) when it is missing."""
    path = folder / "classifier.weights.h5"
    model = make_classifier()
    if path.exists():
        model.load_weights(path)
        return model
    log.info("no classifier at %s: training one", path)
    trained, accuracy = train_classifier(mnist or load_mnist())
    model.set_weights(trained.get_weights())  # a fresh model: the file holds no optimizer state
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(path)
    (folder / "model.json").write_text(
        json.dumps(
            {
                "name": "mnist-classifier",
                "test_accuracy": round(accuracy, 4),
                "weights": path.name,
                "architecture": "training.evaluate.make_classifier",
                "features": "128-d 'features' layer, used for FID-MNIST",
            },
            indent=2,
        )
        + "\n"
    )
    log.info("classifier test accuracy %.4f, saved to %s", accuracy, path)
    return model


class Evaluator:
    """Scores generators against one classifier and one set of reference features.

    The memorisation check judges the first `memorisation_samples` of the samples (0: none)."""

    def __init__(
        self,
        classifier: keras.Model,
        mnist: Mnist,
        samples: int = 10_000,
        memorisation_samples: int = memorisation.SAMPLES,
    ):
        self.samples = samples
        self.memorisation = None
        if memorisation_samples:
            self.memorisation = memorisation.MemorisationCheck(
                mnist.x_train, mnist.x_test, min(memorisation_samples, samples)
            )
        self._probe = keras.Model(
            classifier.inputs, [classifier.get_layer("features").output, classifier.outputs[0]]
        )
        self._test_features, _ = self._run(scale_images(mnist.x_test))
        train_features, _ = self._run(scale_images(mnist.x_train[: len(mnist.x_test)]))
        self.floor = frechet_distance(train_features, self._test_features)

    def _run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, logits = self._probe.predict(images, batch_size=500, verbose=0)
        return features.astype(np.float64), tf.nn.softmax(logits).numpy()

    def evaluate(self, generate: Generate, conditional: bool, noise_dim: int = 100) -> dict:
        rng = np.random.default_rng(EVAL_SEED)
        noise = rng.standard_normal((self.samples, noise_dim)).astype(np.float32)
        requested = (np.arange(self.samples) % 10).astype(np.int32)
        images = np.concatenate(
            [
                generate(noise[i : i + 500], requested[i : i + 500])
                for i in range(0, self.samples, 500)
            ]
        )
        features, probs = self._run(images)
        predicted, confidence = probs.argmax(1), probs.max(1)
        histogram = np.bincount(predicted, minlength=10) / len(predicted)
        nonzero = histogram[histogram > 0]
        metrics = {
            "fid_mnist": round(frechet_distance(features, self._test_features), 3),
            "fid_mnist_floor": round(self.floor, 3),
            "confidence": round(float(confidence.mean()), 4),
            "confident_share": round(float((confidence >= 0.9).mean()), 4),
            "class_histogram": [round(float(h), 4) for h in histogram],
            "class_entropy": round(float(-(nonzero * np.log(nonzero)).sum()) + 0.0, 4),
            "samples": self.samples,
        }
        if conditional:
            correct = predicted == requested
            metrics["digit_accuracy"] = round(float(correct.mean()), 4)
            metrics["digit_accuracy_by_digit"] = [
                round(float(correct[requested == d].mean()), 4) for d in range(10)
            ]
        if self.memorisation:
            metrics["memorisation"] = self.memorisation.check(images)
        return metrics


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), via symmetric eigendecompositions."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ s_b @ root_a)  # same spectrum as S_a S_b
    trace_root = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * trace_root)


def saved_model_generator(version_dir: Path) -> tuple[Generate, dict]:
    """Load an export by its signature only, as any client would (either layout, see export)."""
    info = json.loads((version_dir / "model.json").read_text())
    serve = tf.saved_model.load(str(saved_model_dir(version_dir))).signatures["serving_default"]

    def generate(noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        inputs = {"noise": tf.constant(noise)}
        if info["conditional"]:
            inputs["labels"] = tf.constant(labels)
        return serve(**inputs)["images"].numpy()

    return generate, info


def format_table(metrics: dict) -> str:
    rows = [
        ("FID-MNIST (lower is better)", f"{metrics['fid_mnist']:.3f}"),
        ("FID-MNIST floor (train vs test)", f"{metrics['fid_mnist_floor']:.3f}"),
        ("mean top-class confidence", f"{metrics['confidence']:.4f}"),
        ("share with confidence >= 0.9", f"{metrics['confident_share']:.4f}"),
        ("class entropy (max ln 10 = 2.303)", f"{metrics['class_entropy']:.4f}"),
        ("class histogram 0..9", " ".join(f"{h:.3f}" for h in metrics["class_histogram"])),
    ]
    if "digit_accuracy" in metrics:
        rows.append(("requested-digit accuracy", f"{metrics['digit_accuracy']:.4f}"))
        by_digit = metrics.get("digit_accuracy_by_digit")
        if by_digit:
            rows.append(("requested-digit accuracy 0..9", " ".join(f"{a:.3f}" for a in by_digit)))
    if "memorisation" in metrics:
        check = metrics["memorisation"]
        rows.append((f"memorisation ({check['samples']} samples)", memorisation.format_line(check)))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = cliutil.Parser(prog="python -m training.evaluate", description=__doc__)
    cliutil.add_version_dir_arg(parser)
    parser.add_argument("--samples", type=cliutil.int_at_least(2), default=10_000)
    parser.add_argument(
        "--memorisation-samples",
        type=cliutil.int_at_least(0),
        default=memorisation.SAMPLES,
        metavar="N",
        help="samples (and unseen test digits) whose nearest training image is measured "
        f"(default: {memorisation.SAMPLES}; 0: skip the check)",
    )
    cliutil.add_classifier_flag(parser)
    cliutil.add_data_flag(parser)
    parser.add_argument(
        "--write",
        action="store_true",
        help="also record the numbers in the export's model.json (default: print only)",
    )
    args = parser.parse_args(argv)
    cliutil.setup_logging()
    if problem := cliutil.not_an_export(args.version_dir):
        return cliutil.fail(parser.prog, problem)
    try:
        mnist = load_mnist(args.data)
        generate, info = saved_model_generator(args.version_dir)
    except (DataError, FileNotFoundError, ValueError) as exc:  # ValueError: unreadable JSON
        return cliutil.fail(parser.prog, str(exc))
    classifier = load_classifier(args.classifier, mnist)
    evaluator = Evaluator(classifier, mnist, args.samples, args.memorisation_samples)
    metrics = evaluator.evaluate(generate, info["conditional"], info["noise_dim"])
    print(f"{info['name']}@{info['version']}, {args.samples} samples")
    print(format_table(metrics))
    if args.write:
        info["metrics"] = metrics
        tmp = args.version_dir / "model.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(args.version_dir / "model.json")
        print(f"written to {args.version_dir / 'model.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
