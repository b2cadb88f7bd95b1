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
    assert discriminator([images, labels], training=False).shape == (3, 1)
    # The label changes the drawing: same noise, different digits, different images.
    assert not np.allclose(images[0], images[1])


def test_bfloat16_policy_keeps_float32_outputs():
    generator, discriminator = make_pair(conditional=False, dtype="mixed_bfloat16")
    images = generator(np.zeros((2, 100), np.float32))
    assert images.dtype == "float32" and discriminator(images).dtype == "float32"
    assert generator.layers[1].compute_dtype == "bfloat16"
