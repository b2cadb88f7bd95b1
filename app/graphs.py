"""The graph a generator serves: its signature with the weights as constants, and the image
layer as a sub-pixel convolution (the same products, in a faster kernel).

A stride-2, 5x5, SAME transposed convolution that makes few channels (the generator's last layer:
64 channels to 1) runs slowly on CPUs: oneDNN spends ~10% of a call there for ~1% of the
arithmetic. The same layer is a 3x3 convolution to 4x the channels, one per output phase (row
parity, column parity), followed by depth-to-space. The products are the same (plus some by
zero); they are summed in another order, so float32 images move by ~1e-5 (256 images: 3 pixels
of 200,704 moved by a grey level on the shipped dcgan@3, 1 on cdcgan@4). Measured in-process on
the shipped dcgan@3 (AMD EPYC, 2026-12-01, medians): 16 images 10.1 -> 9.6 ms and 64 images
32.0 -> 29.7 ms in float32, 64 images 18.7 -> 17.4 ms in bfloat16. Layers with more channels
(the 64-channel one before it) were not faster, so they stay as exported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger("app")
MAX_CHANNELS = 4  # rewrite transposed convolutions that make at most this many channels
# Output 2m + r (r: 0 or 1) of a stride-2, 5-tap transposed convolution padded SAME (one before)
# takes tap k of input m + d: TAPS[r] = {d: k}.
TAPS = {0: {-1: 3, 0: 1}, 1: {-1: 4, 0: 2, 1: 0}}


def constant_weights(signature, subpixel: bool = True) -> tuple[Callable, str, str]:
    """The signature with its weights folded into the graph as constants, and "constants"; or
    the signature itself and "variables" when that cannot be done. Third, "sub-pixel" when the
    image layer was rewritten as a sub-pixel convolution (as_subpixel), else "exported".

    A call then no longer reads and casts the stored (float16) weights, nor, in bfloat16, casts
    them again: grappler folds those casts once, at load. Measured on the shipped dcgan@3 (AMD
    EPYC, 2026-12-01, medians): one image 3.2 -> 2.7 ms and 16 images 10.2 -> 9.7 ms in float32,
    3.1 -> 1.9 and 8.4 -> 7.1 ms in bfloat16; the floats equal the signature's in both. The
    self-test checks the folded graph as it would the signature."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,  # what the TFLite converter freezes with
    )

    try:
        frozen = convert_variables_to_constants_v2(signature)
    except Exception as exc:  # e.g. a graph that writes its variables: serve it unchanged
        log.warning("weights kept as variables: %s: %s", type(exc).__name__, exc)
        return signature, "variables", "exported"
    names = [tensor.name.split(":")[0] for tensor in frozen.inputs]  # "noise:0" -> "noise"
    if sorted(names) != sorted(signature.structured_input_signature[1]) or len(frozen.outputs) != 1:
        log.warning("weights kept as variables: the folded graph's inputs are %s", names)
        return signature, "variables", "exported"
    layers = 0
    if subpixel:
        frozen, layers = as_subpixel(frozen)

    def call(**inputs):
        return {"images": frozen(*[inputs[name] for name in names])[0]}

    return call, "constants", "sub-pixel" if layers else "exported"


def subpixel_filter(kernel: np.ndarray) -> np.ndarray:
    """Conv2DBackpropInput filter [5, 5, out, in] -> Conv2D filter [3, 3, in, 4 * out] whose
    channel (2 * ry + rx) * out + c is output phase (ry, rx) of channel c, as depth-to-space
    reads them."""
    _, _, out, inputs = kernel.shape
    weights = np.zeros((3, 3, inputs, 4, out), kernel.dtype)
    for ry in (0, 1):
        for rx in (0, 1):
            for dy, ky in TAPS[ry].items():
                for dx, kx in TAPS[rx].items():
                    weights[dy + 1, dx + 1, :, 2 * ry + rx, :] = kernel[ky, kx].T
    return weights.reshape(3, 3, inputs, 4 * out)


def _targets(graph_def) -> list:
    import tensorflow as tf

    return [
        node
        for node in graph_def.node
        if node.op == "Conv2DBackpropInput"
        and node.attr["T"].type == tf.float32.as_datatype_enum
        and list(node.attr["strides"].list.i) == [1, 2, 2, 1]
        and node.attr["padding"].s == b"SAME"
        and node.attr["data_format"].s in (b"", b"NHWC")
        and list(node.attr["dilations"].list.i) in ([], [1, 1, 1, 1])
    ]


def _function(graph_def, inputs: list[str], outputs: list[str]):
    import tensorflow as tf

    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=""), []
    )
    get = wrapped.graph.get_tensor_by_name
    return wrapped.prune([get(name) for name in inputs], [get(name) for name in outputs])


def _replace(graph_def, node, kernel: np.ndarray) -> None:
    """node (a transposed convolution) -> Conv2D + DepthToSpace under its name."""
    import tensorflow as tf

    graph_def.node.remove(node)
    weights = graph_def.node.add(name=node.name + "/subpixel_filter", op="Const")
    weights.attr["dtype"].type = tf.float32.as_datatype_enum
    weights.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(subpixel_filter(kernel)))
    conv = graph_def.node.add(name=node.name + "/subpixel", op="Conv2D")
    conv.input.extend([node.input[2], weights.name])
    conv.attr["T"].type = tf.float32.as_datatype_enum
    conv.attr["strides"].list.i.extend([1, 1, 1, 1])
    conv.attr["dilations"].list.i.extend([1, 1, 1, 1])
    conv.attr["padding"].s, conv.attr["data_format"].s = b"SAME", b"NHWC"
    shuffle = graph_def.node.add(name=node.name, op="DepthToSpace", input=[conv.name])
    shuffle.attr["T"].type = tf.float32.as_datatype_enum
    shuffle.attr["block_size"].i, shuffle.attr["data_format"].s = 2, b"NHWC"


def as_subpixel(frozen) -> tuple[object, int]:
    """`frozen` (a ConcreteFunction whose weights are constants) with its few-channel stride-2
    transposed convolutions as sub-pixel convolutions, and how many it rewrote. Unchanged (0)
    when there are none, or when the rewritten graph's images on random inputs are not within a
    few grey levels of the original's."""
    import tensorflow as tf

    graph_def = frozen.graph.as_graph_def()
    inputs, outputs = [t.name for t in frozen.inputs], [t.name for t in frozen.outputs]
    try:
        targets = _targets(graph_def)
        filters = [node.input[1].split(":")[0] + ":0" for node in targets]
        kernels = [k.numpy() for k in _function(graph_def, [], filters)()] if filters else []
        chosen = [
            (node, kernel)
            for node, kernel in zip(targets, kernels)
            if kernel.shape[:2] == (5, 5) and kernel.shape[2] <= MAX_CHANNELS
        ]
        if not chosen:
            return frozen, 0
        for node, kernel in chosen:
            _replace(graph_def, node, kernel)
        rewritten = _function(graph_def, inputs, outputs)
        check = [tf.constant(value) for value in _random_inputs(frozen.inputs)]
        want, got = frozen(*check)[0].numpy(), rewritten(*check)[0].numpy()
    except (tf.errors.OpError, ValueError, KeyError, TypeError) as exc:
        log.warning("graph kept as exported: %s: %.200s", type(exc).__name__, exc)
        return frozen, 0
    if got.shape != want.shape or not np.abs(got - want).max() < 0.02:
        log.warning("graph kept as exported: the sub-pixel form's images differ")
        return frozen, 0
    return rewritten, len(chosen)


def _random_inputs(specs, rows: int = 4) -> list:
    """Inputs for a check: normal noise for float inputs [None, D], 0..rows-1 for int ones."""
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((rows, *spec.shape[1:])).astype(np.float32)
        if spec.dtype.is_floating
        else np.arange(rows).astype(spec.dtype.as_numpy_dtype)
        for spec in specs
    ]
