"""The served graph: weights as constants, batch norms folded, the image layer sub-pixel."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from app.graphs import constant_weights, rewritten, subpixel_filter

RNG = np.random.default_rng(0)


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
def test_the_graph_is_rewritten_and_the_images_barely_move(models_dir, name):
    loaded = tf.saved_model.load(str(models_dir / name / "1"))  # owns the variables
    signature = loaded.signatures["serving_default"]
    call, weights, graph = constant_weights(signature)
    assert (weights, graph) == ("constants", "folded+sub-pixel")
    rng = np.random.default_rng(4)
    inputs = {"noise": tf.constant(rng.standard_normal((32, 100)).astype(np.float32))}
    if name == "cdcgan":
        inputs["labels"] = tf.constant(np.arange(32) % 10, tf.int32)
    want = signature(**inputs)["images"].numpy()
    got = call(**inputs)["images"].numpy()
    assert not np.array_equal(got, want)  # summed in another order
    np.testing.assert_allclose(got, want, atol=1e-4)


def _constant(*shape) -> np.ndarray:
    """Weights, which a traced function holds as Const nodes, like a frozen signature."""
    return RNG.standard_normal(shape).astype(np.float32) * 0.2


def _dense(x):
    return tf.matmul(tf.reshape(x, [-1, 7 * 7 * 8]), _constant(7 * 7 * 8, 8))


def _transposed(stride):
    kernel = _constant(5, 5, 8, 8)  # [h, w, out, in]
    return lambda x: tf.nn.conv2d_transpose(
        x, kernel, [tf.shape(x)[0], 7 * stride, 7 * stride, 8], stride, "SAME"
    )


def _conv(x):
    return tf.nn.conv2d(x, _constant(3, 3, 8, 8), 1, "SAME")


@pytest.mark.parametrize(
    ("layer", "kinds"),
    [
        (_dense, {"MatMul"}),
        (_conv, {"Conv2D"}),
        (_transposed(1), {"Conv2D"}),  # a stride-1 transposed convolution is a convolution
        (_transposed(2), {"Conv2DBackpropInput"}),
    ],
)
def test_a_batch_norm_folds_into_the_layer_before_it(layer, kinds):
    scale, shift = _constant(8) + 1, _constant(8)

    @tf.function(input_signature=[tf.TensorSpec([None, 7, 7, 8], tf.float32, name="x")])
    def serve(x):
        return tf.nn.leaky_relu(layer(x) * scale + shift, 0.2)

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    folded, graph = rewritten(frozen)
    assert graph == "folded"
    ops = {node.op for node in folded.graph.as_graph_def().node}
    assert "Mul" not in ops and "BiasAdd" in ops and kinds <= ops
    x = tf.constant(RNG.standard_normal((4, 7, 7, 8)).astype(np.float32))
    np.testing.assert_allclose(folded(x)[0].numpy(), frozen(x)[0].numpy(), atol=1e-5)


def test_a_graph_without_such_layers_is_kept():
    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(noise):
        # a scale that depends on the input is not a batch norm's: nothing to fold
        dense = tf.matmul(noise, _constant(100, 784)) * noise[:, :1] + 1.0
        return tf.reshape(tf.tanh(dense), [-1, 28, 28, 1])

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    same, graph = rewritten(frozen)
    assert same is frozen and graph == "exported"
