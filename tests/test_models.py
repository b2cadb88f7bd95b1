import keras
import numpy as np

from training.models import make_pair


def layer_list(model) -> list[tuple[str, tuple]]:
    return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_generator_is_the_tutorials_layer_for_layer():
    generator, _ = make_pair(conditional=False)
    assert layer_list(generator) == [
        ("InputLayer", (100,)),
        ("Dense", (12544,)),
        ("BatchNormalization", (12544,)),
        ("LeakyReLU", (12544,)),
        ("Reshape", (7, 7, 256)),
        ("Conv2DTranspose", (7, 7, 128)),
        ("BatchNormalization", (7, 7, 128)),
        ("LeakyReLU", (7, 7, 128)),
        ("Conv2DTranspose", (14, 14, 64)),
        ("BatchNormalization", (14, 14, 64)),
        ("LeakyReLU", (14, 14, 64)),
        ("Conv2DTranspose", (28, 28, 1)),
    ]
    assert generator.count_params() == 2_330_944  # the tutorial's summary() total
    assert not generator.layers[1].use_bias and generator.layers[-1].activation.__name__ == "tanh"


def test_discriminator_is_the_tutorials_layer_for_layer():
    _, discriminator = make_pair(conditional=False)
    assert layer_list(discriminator) == [
        ("InputLayer", (28, 28, 1)),
        ("Conv2D", (14, 14, 64)),
        ("LeakyReLU", (14, 14, 64)),
        ("Dropout", (14, 14, 64)),
        ("Conv2D", (7, 7, 128)),
        ("LeakyReLU", (7, 7, 128)),
        ("Dropout", (7, 7, 128)),
        ("Flatten", (6272,)),
        ("Dense", (1,)),
    ]
    assert discriminator.count_params() == 212_865
    assert [layer.rate for layer in discriminator.layers if hasattr(layer, "rate")] == [0.3, 0.3]


def test_conditional_pair_takes_labels():
    generator, discriminator = make_pair(conditional=True)
    noise = np.zeros((3, 100), np.float32)
    labels = np.array([0, 5, 9], np.int32)
    images = generator([noise, labels], training=False).numpy()
    assert images.shape == (3, 28, 28, 1)
    logits, digit_logits = discriminator([images, labels], training=False)
    assert logits.shape == (3, 1) and digit_logits.shape == (3, 10)
    # The label changes the drawing: same noise, different digits, different images.
    assert not np.allclose(images[0], images[1])


def test_bfloat16_policy_keeps_float32_outputs():
    generator, discriminator = make_pair(conditional=False, dtype="mixed_bfloat16")
    images = generator(np.zeros((2, 100), np.float32))
    assert images.dtype == "float32" and discriminator(images).dtype == "float32"
    assert generator.layers[1].compute_dtype == "bfloat16"


def test_conditional_discriminator_projects_its_features_on_the_label():
    _, discriminator = make_pair(conditional=True)
    image = np.random.default_rng(0).uniform(-1, 1, (1, 28, 28, 1)).astype(np.float32)
    logits, digits = discriminator([image.repeat(2, 0), np.array([3, 7], np.int32)], training=False)
    by_type = {type(layer).__name__: layer for layer in discriminator.layers}
    features = keras.Model(discriminator.inputs, by_type["Flatten"].output)(
        [image, np.array([3], np.int32)]
    )
    class_vectors = by_type["Embedding"].embeddings.numpy()
    # Same image, labels 3 and 7: the scores differ by <vector_3 - vector_7, features>.
    expected = np.dot(class_vectors[3] - class_vectors[7], features.numpy()[0])
    np.testing.assert_allclose(logits[0, 0] - logits[1, 0], expected, rtol=1e-3, atol=1e-5)
    assert abs(expected) > 1e-3
    # The digit head looks at the image only: the label it is told does not change its answer.
    np.testing.assert_allclose(digits[0], digits[1], rtol=1e-5)
