"""The GAN's step: EMA of the generator's weights."""

import numpy as np
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
