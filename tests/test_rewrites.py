"""Graph rewrites: batch norms folded into the layer before them, the sub-pixel image layer."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from app.serving.rewrites import fold_batch_norm, function, subpixel_filter

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
    graph_def = frozen.graph.as_graph_def()
    assert fold_batch_norm(graph_def) == 1
    folded = function(graph_def, ["x:0"], [frozen.outputs[0].name])
    ops = {node.op for node in folded.graph.as_graph_def().node}
    assert "Mul" not in ops and "BiasAdd" in ops and kinds <= ops
    x = tf.constant(RNG.standard_normal((4, 7, 7, 8)).astype(np.float32))
    np.testing.assert_allclose(folded(x)[0].numpy(), frozen(x)[0].numpy(), atol=1e-5)
