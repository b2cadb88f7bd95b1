"""The loaded generator: exact batched calls, the per-image fallback, precision, fingerprints."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from app.serving.generator import Generator, NotExact, Options, fingerprint, to_pixels
from app.serving.graphs import constant_weights
from app.serving.registry import ModelRegistry
from tests.conftest import QUIET_TF, ROOT


def load(models_dir, name="cdcgan", mode="auto", max_rows=64) -> Generator:
    registry = ModelRegistry(models_dir, "dcgan", Options(mode=mode, max_rows=max_rows))
    version = registry.load(name, 1, models_dir / name / "1")
    assert version.status == "ready", version.error
    return version.generator


def floats(generator: Generator, noise, labels, size: int) -> np.ndarray:
    """The raw batched signature, in calls of `size` rows."""
    parts = [
        generator._batched(noise[i : i + size], labels[i : i + size]).numpy()
        for i in range(0, len(noise), size)
    ]
    return np.concatenate(parts)


def test_to_pixels_maps_minus_one_to_black_and_one_to_white():
    images = np.array([-1.0, 0.0, 1.0, 2.0], np.float32).reshape(1, 1, 4, 1)
    assert to_pixels(images).tolist() == [[[0, 128, 255, 255]]]


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_verified_call_sizes_give_every_row_as_computed_alone(models_dir, name):
    generator = load(models_dir, name)
    rng = np.random.default_rng(11)
    noise = rng.standard_normal((150, 100)).astype(np.float32)
    labels = rng.integers(0, 10, 150).astype(np.int32)
    alone = generator.alone(noise, labels)
    for size in generator.sizes:
        rows = 64 - 64 % size
        np.testing.assert_array_equal(
            floats(generator, noise[:rows], labels[:rows], size), alone[:rows]
        )
    # whatever the plan (sizes, padding, more rows than it covers), the images alone's pixels
    for n in (1, 3, 5, 17, 64, 150):
        np.testing.assert_array_equal(generator(noise[:n], labels[:n]), to_pixels(alone[:n]))


def test_a_prior_export_is_drawn_as_its_two_halves_in_verified_calls(prior_models_dir):
    """noise -> latent codes -> images: whatever the plan, a request's codes and images are
    its rows' alone, the codes are the export's draws and the images its images."""
    generator = load(prior_models_dir, "prior")
    assert generator.describe()["walks"] == "latent codes" and generator.mode == "batched"
    noise = np.random.default_rng(12).standard_normal((150, 100)).astype(np.float32)
    codes, alone = generator._alone(noise, np.zeros(150, np.int32))
    for n in (1, 3, 17, 64, 150):
        np.testing.assert_array_equal(generator.latent(noise[:n]), codes[:n])
        np.testing.assert_array_equal(generator.render(codes[:n]), alone[:n])
        np.testing.assert_array_equal(generator.images(noise[:n]), alone[:n])
        np.testing.assert_array_equal(generator.from_latent(codes[:n]), to_pixels(alone[:n]))
    signatures = tf.saved_model.load(str(prior_models_dir / "prior" / "1")).signatures
    drawn = signatures["noise_to_latent"](noise=tf.constant(noise[:8]))["latent"].numpy()
    np.testing.assert_array_equal(codes[:8], drawn)
    assert np.abs(codes[:8] - noise[:8]).max() > 1  # the prior moved them
    want = signatures["serving_default"](noise=tf.constant(noise[:8]))["images"].numpy()
    np.testing.assert_allclose(alone[:8], want, atol=1e-4)  # the rewritten graph's sums


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_weights_folded_into_constants_give_the_signatures_floats(models_dir, name):
    loaded = tf.saved_model.load(str(models_dir / name / "1"))  # owns the variables
    signature = loaded.signatures["serving_default"]
    call, weights, graph = constant_weights(signature, rewrite=False)
    assert (weights, graph) == ("constants", "exported")
    rng = np.random.default_rng(3)
    inputs = {"noise": tf.constant(rng.standard_normal((5, 100)).astype(np.float32))}
    if name == "cdcgan":
        inputs["labels"] = tf.constant([3, 1, 4, 1, 5], tf.int32)
    want = signature(**inputs)["images"].numpy()
    np.testing.assert_array_equal(call(**inputs)["images"].numpy(), want)


class Counter(tf.Module):
    """A signature that writes a variable: it cannot be frozen, and is served as it is."""

    def __init__(self):
        super().__init__()
        self.calls = tf.Variable(0.0)

    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(self, noise):
        self.calls.assign_add(1.0)
        return {"images": tf.zeros([tf.shape(noise)[0], 28, 28, 1]) + 0 * self.calls}


def test_a_signature_that_writes_its_variables_keeps_them(tmp_path):
    module = Counter()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    generator = Generator("counter@1", tf.saved_model.load(str(tmp_path)), False, 100, Options())
    assert generator.weights == "variables" and generator.describe()["weights"] == "variables"
    assert generator(np.zeros((2, 100), np.float32)).shape == (2, 28, 28)


def test_per_image_mode_is_the_fallback_and_selectable(models_dir):
    generator = load(models_dir, mode="per-image")
    assert generator.mode == "per-image" and generator.sizes == ()
    batched = load(models_dir, mode="batched")
    assert batched.mode == "batched" and batched.sizes == (1, 2, 4, 8, 16, 32, 64)
    assert batched.describe()["exact"] is False
    noise = np.random.default_rng(3).standard_normal((5, 100)).astype(np.float32)
    assert generator(noise, np.arange(5)).shape == (5, 28, 28)


class Noisy(tf.Module):
    """A 'generator' whose images change from call to call: nothing about it is exact."""

    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(self, noise):
        jitter = tf.random.uniform([tf.shape(noise)[0], 28, 28, 1], -1e-3, 1e-3)
        return {"images": tf.zeros([tf.shape(noise)[0], 28, 28, 1]) + jitter}


def test_a_generator_with_no_exact_mode_fails_its_self_test(tmp_path):
    module = Noisy()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    generator = Generator("noisy@1", tf.saved_model.load(str(tmp_path)), False, 100, Options())
    with pytest.raises(NotExact):
        generator.self_test()


def test_fingerprint_names_weights_precision_and_graph(models_dir):
    one, two = str(models_dir / "dcgan" / "1"), str(models_dir / "dcgan" / "2")
    base = fingerprint(one, "float32", "CPU", "constants", "sub-pixel")
    assert base == fingerprint(one, "float32", "CPU", "constants", "sub-pixel")
    assert base != fingerprint(two, "float32", "CPU", "constants", "sub-pixel")
    assert base != fingerprint(one, "bfloat16", "CPU", "constants", "sub-pixel")
    assert base != fingerprint(one, "float32", "CPU", "variables", "sub-pixel")
    assert base != fingerprint(one, "float32", "CPU", "constants", "exported")


def bf16_inputs():
    noise = np.random.default_rng(5).standard_normal((32, 100)).astype(np.float32)
    return noise, (np.arange(32) % 10).astype(np.int32)


BFLOAT16 = """
import sys, numpy as np
from pathlib import Path
from app.serving.generator import Options, configure_precision, to_pixels
from app.serving.registry import ModelRegistry
configure_precision("bfloat16")
models = Path(sys.argv[1])
registry = ModelRegistry(models, "dcgan", Options("bfloat16", "auto", 32))
v = registry.load("cdcgan", 1, models / "cdcgan" / "1")
assert v.status == "ready", v.error
g = v.generator
from tests.test_generator import bf16_inputs
noise, labels = bf16_inputs()
alone = g.alone(noise, labels)
f32 = ModelRegistry(models, "dcgan").load("cdcgan", 1, models / "cdcgan" / "1")
for n in (1, 3, 7, 32):
    assert np.array_equal(g(noise[:n], labels[:n]), to_pixels(alone[:n]))
np.save(sys.argv[2], alone)
# a call of one row is what "alone" means: so it verifies, and batches are measured against it
assert 1 in g.sizes, g.sizes
print("sizes", g.sizes)
"""


@pytest.mark.slow
def test_bfloat16_generation_is_exact_by_the_same_rule(models_dir, tmp_path):
    """In a process of its own: the precision is process-wide."""
    done = subprocess.run(
        [sys.executable, "-c", BFLOAT16, str(models_dir), str(tmp_path / "bf16.npy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**QUIET_TF, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the rewrite was on: bfloat16 floats are close to float32's, not equal
    f32 = load(models_dir).alone(*bf16_inputs())
    difference = np.abs(np.load(tmp_path / "bf16.npy") - f32).max()
    assert 1e-5 < difference < 0.1, difference
