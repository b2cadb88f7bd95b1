"""The TensorFlow DCGAN tutorial's generator and discriminator, and a class-conditional pair."""

from __future__ import annotations

import keras
from keras import layers

from training.config import IMAGE_SHAPE, NOISE_DIM, NUM_CLASSES

LABEL_EMBEDDING = 50


def _generator_body(x, dtype: str):
    """Everything after the noise input, layer for layer as the tutorial."""
    x = layers.Dense(7 * 7 * 256, use_bias=False, dtype=dtype)(x)
    x = layers.BatchNormalization(dtype=dtype)(x)
    x = layers.LeakyReLU(dtype=dtype)(x)
    x = layers.Reshape((7, 7, 256), dtype=dtype)(x)
    x = layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False, dtype=dtype)(x)
    x = layers.BatchNormalization(dtype=dtype)(x)
    x = layers.LeakyReLU(dtype=dtype)(x)
    x = layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False, dtype=dtype)(x)
    x = layers.BatchNormalization(dtype=dtype)(x)
    x = layers.LeakyReLU(dtype=dtype)(x)
    # float32 output whatever the compute policy, so images and losses stay exact.
    return layers.Conv2DTranspose(
        1, 5, strides=2, padding="same", use_bias=False, activation="tanh", dtype="float32"
    )(x)


def _discriminator_features(x, dtype: str):
    """The tutorial's discriminator up to its last Dense: [N, 28, 28, C] -> [N, 6272]."""
    x = layers.Conv2D(64, 5, strides=2, padding="same", dtype=dtype)(x)
    x = layers.LeakyReLU(dtype=dtype)(x)
    x = layers.Dropout(0.3, dtype=dtype)(x)
    x = layers.Conv2D(128, 5, strides=2, padding="same", dtype=dtype)(x)
    x = layers.LeakyReLU(dtype=dtype)(x)
    x = layers.Dropout(0.3, dtype=dtype)(x)
    return layers.Flatten(dtype=dtype)(x)


def make_generator(noise_dim: int = NOISE_DIM, dtype: str = "float32") -> keras.Model:
    """noise [N, noise_dim] -> images [N, 28, 28, 1] in [-1, 1]."""
    noise = keras.Input((noise_dim,), name="noise")
    return keras.Model(noise, _generator_body(noise, dtype), name="generator")


def make_discriminator(dtype: str = "float32") -> keras.Model:
    """images [N, 28, 28, 1] -> real/fake logits [N, 1]."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    logits = layers.Dense(1, dtype="float32")(_discriminator_features(image, dtype))
    return keras.Model(image, logits, name="discriminator")


def make_conditional_generator(noise_dim: int = NOISE_DIM, dtype: str = "float32") -> keras.Model:
    """(noise, label) -> image of that digit: a label embedding joined to the noise."""
    noise = keras.Input((noise_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(NUM_CLASSES, LABEL_EMBEDDING, dtype=dtype)(label)
    x = layers.Concatenate(dtype=dtype)([noise, embedded])
    return keras.Model([noise, label], _generator_body(x, dtype), name="conditional_generator")


def make_conditional_discriminator(dtype: str = "float32") -> keras.Model:
    """(image, label) -> (real/fake logits [N, 1], digit logits [N, 10]).

    Two label paths, because joining a label map to the image (the classic cGAN) left D free to
    ignore the label: only 73-81% of that generator's digits were the one asked for.
    The real/fake logit adds a projection of D's features on a learned per-digit vector (Miyato &
    Koyama, 2018), and a digit head names the digit (AC-GAN, Odena et al., 2017): trained on real
    images, it rewards the generator for drawing the digit it was asked for.
    """
    image = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    features = _discriminator_features(image, dtype)
    class_vector = layers.Embedding(NUM_CLASSES, features.shape[-1], dtype=dtype)(label)
    projection = layers.Dot(axes=1, dtype="float32")([class_vector, features])
    logits = layers.Add(dtype="float32")([layers.Dense(1, dtype="float32")(features), projection])
    digit_logits = layers.Dense(NUM_CLASSES, dtype="float32", name="digit")(features)
    return keras.Model([image, label], [logits, digit_logits], name="conditional_discriminator")


def generator_for(
    conditional: bool, noise_dim: int = NOISE_DIM, dtype: str = "float32"
) -> keras.Model:
    """The generator alone, for what needs no discriminator (export, averaging)."""
    make = make_conditional_generator if conditional else make_generator
    return make(noise_dim, dtype)


def make_pair(conditional: bool, noise_dim: int = NOISE_DIM, dtype: str = "float32"):
    """(generator, discriminator) for a run; dtype is a Keras dtype policy name."""
    discriminator = make_conditional_discriminator if conditional else make_discriminator
    return generator_for(conditional, noise_dim, dtype), discriminator(dtype)
