"""The GAN's step: EMA of the generator's weights, top-k training, the R1 penalty."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.config import TrainConfig
from training.gan import GAN, FusedAdam


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


def test_r1_trains_in_bfloat16_too():
    config = TrainConfig(batch_size=8, r1_gamma=1.0, mixed_precision="bfloat16")
    gan = GAN(config, tf.distribute.get_strategy())
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    g_loss, d_loss = gan.train_step(tf.constant(images), tf.zeros(8, tf.int32))
    assert np.isfinite(g_loss) and np.isfinite(d_loss)


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

    assert_step_changed_only("generator", step(1.0), step(0.25))


def assert_step_changed_only(network: str, plain: GAN, changed: GAN) -> None:
    """`changed`'s step moved `network` elsewhere than `plain`'s did, and the other network not."""
    other = "discriminator" if network == "generator" else "generator"
    same = zip(getattr(plain, other).get_weights(), getattr(changed, other).get_weights())
    assert all(np.array_equal(a, b) for a, b in same)
    differ = zip(getattr(plain, network).get_weights(), getattr(changed, network).get_weights())
    assert any(not np.array_equal(a, b) for a, b in differ)


def r1_gan(gamma: float, conditional: bool = False, every: int = 1) -> GAN:
    keras.utils.set_random_seed(3)  # the same weights and dropout masks each time
    config = TrainConfig(batch_size=4, r1_gamma=gamma, conditional=conditional, r1_every=every)
    return GAN(config, tf.distribute.get_strategy())


IMAGES = tf.constant(np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))


@pytest.mark.parametrize("conditional", [False, True])
def test_r1_penalty_is_half_gamma_times_the_squared_input_gradient(conditional):
    labels = tf.constant([0, 1, 2, 3])
    real_in = [IMAGES, labels] if conditional else IMAGES
    gan = r1_gan(1.0, conditional)
    with tf.GradientTape() as tape:
        tape.watch(IMAGES)
        out = gan.discriminator(real_in, training=True)
        total = tf.reduce_sum(out[0] if conditional else out)
    expected = 0.5 * 10.0 * tf.reduce_sum(tape.gradient(total, IMAGES) ** 2, [1, 2, 3])
    _, r1 = r1_gan(10.0, conditional)._real_logits(IMAGES, real_in, 10.0)
    assert r1.shape == (4,) and float(tf.reduce_min(r1)) > 0
    np.testing.assert_allclose(r1.numpy(), expected.numpy(), rtol=1e-5)
    assert r1_gan(0.0, conditional)._real_logits(IMAGES, real_in, 0.0)[1] == 0.0


def test_r1_changes_the_discriminator_step_only():
    def step(gamma: float) -> GAN:
        gan = r1_gan(gamma)
        gan.train_step(IMAGES, tf.zeros(4, tf.int32))
        return gan

    assert_step_changed_only("discriminator", step(0.0), step(10.0))


def test_lazy_r1_penalises_every_nth_step_n_times_as_strongly():
    lazy, eager = r1_gan(5.0, every=2), r1_gan(10.0)
    for gan in (lazy, eager):
        gan.train_step(IMAGES, tf.zeros(4, tf.int32))
    assert_same_weights(lazy, eager)  # step 0: gamma 5 x 2
    eager.config = eager.config.replace(r1_gamma=0.0)
    for gan in (lazy, eager):
        gan.train_step(IMAGES, tf.zeros(4, tf.int32))
    assert_same_weights(lazy, eager)  # step 1: no penalty
    lazy.train_step(IMAGES, tf.zeros(4, tf.int32))
    eager.train_step(IMAGES, tf.zeros(4, tf.int32))
    assert_step_changed_only("discriminator", eager, lazy)  # step 2: penalised again


def assert_same_weights(a: GAN, b: GAN) -> None:
    for network in ("generator", "discriminator"):
        pairs = zip(getattr(a, network).get_weights(), getattr(b, network).get_weights())
        assert all(np.array_equal(x, y) for x, y in pairs)


def test_fused_adam_follows_keras_adam():
    start = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    fused, plain = tf.Variable(start), tf.Variable(start)
    optimizers = FusedAdam(1e-2, beta_1=0.5), keras.optimizers.Adam(1e-2, beta_1=0.5)
    for step in range(5):
        grad = tf.constant(np.random.default_rng(step).normal(size=(3, 4)).astype("float32"))
        for optimizer, variable in zip(optimizers, (fused, plain)):
            optimizer.apply_gradients([(grad, variable)])
    assert not np.allclose(fused.numpy(), start)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-7)
