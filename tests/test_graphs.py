"""The served graph: weights as constants, the image layer as a sub-pixel convolution."""

import numpy as np
import pytest
import tensorflow as tf

from app.graphs import as_subpixel, constant_weights, subpixel_filter


@pytest.mark.parametrize(("size", "channels"), [(7, 1), (14, 1), (5, 3)])
def test_the_subpixel_form_computes_the_transposed_convolution(size, channels):
    rng = np.random.default_rng(size)
    x = rng.standard_normal((3, size, size, 8)).astype(np.float32)
    kernel = rng.standard_normal((5, 5, channels, 8)).astype(np.float32)
    want = tf.nn.conv2d_transpose(x, kernel, [3, 2 * size, 2 * size, channels], 2, "SAME")
    conv = tf.nn.conv2d(x, subpixel_filter(kernel), 1, "SAME")
    got = tf.nn.depth_to_space(conv, 2)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_the_image_layer_is_rewritten_and_the_images_barely_move(models_dir, name):
    loaded = tf.saved_model.load(str(models_dir / name / "1"))  # owns the variables
    signature = loaded.signatures["serving_default"]
    call, weights, graph = constant_weights(signature)
    assert (weights, graph) == ("constants", "sub-pixel")
    rng = np.random.default_rng(4)
    inputs = {"noise": tf.constant(rng.standard_normal((32, 100)).astype(np.float32))}
    if name == "cdcgan":
        inputs["labels"] = tf.constant(np.arange(32) % 10, tf.int32)
    want = signature(**inputs)["images"].numpy()
    got = call(**inputs)["images"].numpy()
    assert not np.array_equal(got, want)  # summed in another order
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_graph_without_such_a_layer_is_kept():
    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(noise):
        return tf.reshape(tf.tanh(noise[:, :1]) + tf.zeros([1, 784]), [-1, 28, 28, 1])

    frozen = serve.get_concrete_function()
    same, layers = as_subpixel(frozen)
    assert same is frozen and layers == 0
