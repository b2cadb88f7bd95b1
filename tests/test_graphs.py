"""The served graph: weights as constants, rewritten, and checked against the exported one."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from app.serving.graphs import constant_weights, rewritten


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


def test_a_graph_without_such_layers_is_kept():
    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(noise):
        # a scale that depends on the input is not a batch norm's: nothing to fold
        weights = np.random.default_rng(0).standard_normal((100, 784)).astype(np.float32)
        dense = tf.matmul(noise, weights) * noise[:, :1] + 1.0
        return tf.reshape(tf.tanh(dense), [-1, 28, 28, 1])

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    same, graph = rewritten(frozen)
    assert same is frozen and graph == "exported"


def test_a_rewrite_that_changes_the_images_is_not_kept():
    @tf.function(input_signature=[tf.TensorSpec([None, 100], tf.float32, name="noise")])
    def serve(noise):
        return tf.reshape(tf.tanh(tf.tile(noise[:, :1], [1, 784]) + 0.5), [-1, 28, 28, 1])

    changed = []

    def wrong(graph_def):  # moves every image: a bug in a rewrite, say
        for node in graph_def.node:
            if node.op == "Const" and node.attr["value"].tensor.float_val == [0.5]:
                node.attr["value"].tensor.float_val[0] = -0.5
                changed.append(node.name)
        return len(changed)

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    same, graph = rewritten(frozen, rewrites=(("wrong", wrong),))
    assert changed and same is frozen and graph == "exported"
    _, graph = rewritten(frozen, rewrites=(("nothing", lambda graph_def: 1),))
    assert graph == "nothing"  # the check itself passes an unchanged graph
