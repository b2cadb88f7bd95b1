"""The GAN's step: EMA of the generator's weights, top-k training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.config import TrainConfig
from training.gan import GAN


def one_step(config: TrainConfig) -> GAN:
    gan = GAN(config, tf.distribute.get_strategy())
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    gan.train_step(tf.constant(images), tf.zeros(8, tf.int32))
    return gan


def test_ema_moves_towards_the_generator_by_the_ramped_decay():
    gan = GAN(TrainConfig(batch_size=8, ema_decay=0.999), tf.distribute.get_strategy())
    before = gan.ema_generator.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, gan.generator.get_weights()))
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32"))
    gan.train_step(images, tf.zeros(8, tf.int32))
    decay = 2 / 11  # min(0.999, (1 + t) / (10 + t)) after step t = 1
    after, weights = gan.ema_generator.get_weights(), gan.generator.get_weights()
    for ema, old, new in zip(after, before, weights):
        np.testing.assert_allclose(ema, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)
    assert any(not np.array_equal(a, b) for a, b in zip(after, weights))
    assert gan.sampler is gan.ema_generator


def test_ema_off_samples_the_generator_itself():
    gan = one_step(TrainConfig(batch_size=8))
    assert gan.ema_generator is None and gan.sampler is gan.generator


def test_ema_with_bfloat16_training_keeps_a_float32_average():
    gan = one_step(TrainConfig(batch_size=8, ema_decay=0.99, mixed_precision="bfloat16"))
    assert {w.dtype for w in gan.ema_generator.get_weights()} == {np.dtype("float32")}
    assert gan.ema_generator.dtype_policy.name == "float32"


def test_top_k_loss_averages_the_fakes_the_discriminator_rates_best():
    gan = GAN(TrainConfig(top_k=0.5), tf.distribute.get_strategy())
    losses = tf.constant([0.9, 0.1, 0.5, 0.3, 2.0, 0.2, 0.7])
    gan.set_top_k(0.5)  # ceil(3.5): the 4 lowest losses
    assert float(gan._top_k_loss(losses, replicas=1)) == pytest.approx((0.1 + 0.2 + 0.3 + 0.5) / 4)
    gan.set_top_k(1.0)
    assert float(gan._top_k_loss(losses, replicas=1)) == pytest.approx(float(np.mean(losses)))


def test_top_k_training_changes_the_generator_step_only():
    def step(top_k: float) -> GAN:
        keras.utils.set_random_seed(3)  # the same initial weights
        gan = GAN(TrainConfig(batch_size=8, top_k=top_k), tf.distribute.get_strategy())
        gan.set_top_k(top_k)
        images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
        gan.train_step(tf.constant(images), tf.zeros(8, tf.int32))
        return gan

    plain, top_k = step(1.0), step(0.25)
    same = zip(plain.discriminator.get_weights(), top_k.discriminator.get_weights())
    assert all(np.array_equal(a, b) for a, b in same)
    differ = zip(plain.generator.get_weights(), top_k.generator.get_weights())
    assert any(not np.array_equal(a, b) for a, b in differ)
