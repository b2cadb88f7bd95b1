"""The graph a generator serves: its signature with the weights as constants, rewritten at load
into faster kernels for the same products. Measured in-process on the shipped dcgan@3 (AMD EPYC
with AVX512-BF16, 2026-12-01, medians):

- `folded`: an inference batch norm after a dense or convolution layer (x * scale + shift per
  channel, constants) goes into the layer's filter and a BiasAdd, and a stride-1 transposed
  convolution becomes the convolution it equals, so oneDNN runs layer, bias and activation as one
  kernel. Elementwise ops are slow in bfloat16, so it helps there most: 1, 16 and 64 images
  2.37 -> 1.96, 6.16 -> 5.29 and 17.4 -> 15.7 ms in bfloat16; 3.83 -> 3.28, 11.6 -> 11.3 and
  33.4 -> 34.1 ms in float32 (against the graph with only the image layer rewritten).
- `sub-pixel`: a stride-2, 5x5, SAME transposed convolution to few channels (the image layer, 64
  channels to 1) is slow on CPUs: ~10% of a call for ~1% of the arithmetic. It equals a 3x3
  convolution to 4x the channels, one per output phase (row and column parity), then
  depth-to-space: 64 images 32.0 -> 29.7 ms in float32, 18.7 -> 17.4 ms in bfloat16. The
  64-channel layer before it was not faster so.

Both sum the same products in another order (plus some by zero): float32 images move by ~1e-5.
The rewritten graph is kept only if it agrees with the exported one on random inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger("app")
MAX_CHANNELS = 4  # sub-pixel: rewrite transposed convolutions that make at most this many channels
# Output 2m + r (r: 0 or 1) of a stride-2, 5-tap transposed convolution padded SAME (one before)
# takes tap k of input m + d: TAPS[r] = {d: k}.
TAPS = {0: {-1: 3, 0: 1}, 1: {-1: 4, 0: 2, 1: 0}}
# Per layer kind that a scale folds into: its filter's output-channel axis (filter: input 1).
OUT_AXIS = {"MatMul": 1, "Conv2D": 3, "Conv2DBackpropInput": 2}


def constant_weights(signature, rewrite: bool = True) -> tuple[Callable, str, str]:
    """The signature with its weights folded into the graph as constants, and "constants"; or
    the signature itself and "variables" when that cannot be done. Third, the rewrites made
    (`rewritten`), or "exported".

    A call then no longer reads and casts the stored (float16) weights, nor, in bfloat16, casts
    them again: grappler folds those casts once, at load (dcgan@3, 16 images: 10.2 -> 9.7 ms in
    float32, 8.4 -> 7.1 ms in bfloat16; the floats equal the signature's)."""
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
    graph = "exported"
    if rewrite:
        frozen, graph = rewritten(frozen)

    def call(**inputs):
        return {"images": frozen(*[inputs[name] for name in names])[0]}

    return call, "constants", graph


def rewritten(frozen) -> tuple[object, str]:
    """`frozen` (a ConcreteFunction whose weights are constants) with the rewrites that apply,
    and their names joined by "+". Unchanged, and "exported", when none applies or when the
    rewritten graph's images on random inputs are not within a few grey levels of the original's
    (on average: in bfloat16 single pixels may move further)."""
    import tensorflow as tf

    graph_def = frozen.graph.as_graph_def()
    inputs, outputs = [t.name for t in frozen.inputs], [t.name for t in frozen.outputs]
    try:
        applied = [name for name, rewrite in REWRITES if rewrite(graph_def)]
        if not applied:
            return frozen, "exported"
        candidate = _function(graph_def, inputs, outputs)
        check = [tf.constant(value) for value in _random_inputs(frozen.inputs)]
        want, got = frozen(*check)[0].numpy(), candidate(*check)[0].numpy()
    except (tf.errors.OpError, ValueError, KeyError, TypeError) as exc:
        log.warning("graph kept as exported: %s: %.200s", type(exc).__name__, exc)
        return frozen, "exported"
    if got.shape != want.shape or not np.abs(got - want).mean() < 0.01:
        log.warning("graph kept as exported: the rewritten graph's images differ")
        return frozen, "exported"
    return candidate, "+".join(applied)


def fold_batch_norm(graph_def) -> int:
    """`layer * scale + shift` (constant, one value per output channel) after a MatMul or an
    NHWC convolution -> the layer with its filter scaled, then BiasAdd; how many it folded."""
    nodes, users = {n.name: n for n in graph_def.node}, _users(graph_def)
    found = []
    for mul in graph_def.node:
        layer = nodes.get(_node_name(mul.input[0])) if mul.op == "Mul" else None
        after = users.get(mul.name, [])
        if layer is None or not _foldable(layer) or len(users[layer.name]) != 1:
            continue
        if len(after) != 1 or after[0].op != "AddV2":
            continue
        add = after[0]
        shift = add.input[1] if _node_name(add.input[0]) == mul.name else add.input[0]
        tensors = (layer.input[1], mul.input[1], shift)
        if all(_is_constant(nodes, tensor) for tensor in tensors):
            found.append((layer, mul, add, tensors))
    values = _values(graph_def, [tensor for *_, tensors in found for tensor in tensors])
    folded = 0
    for (layer, mul, add, _), kernel, scale, shift in zip(
        found, values[0::3], values[1::3], values[2::3]
    ):
        axis = OUT_AXIS[layer.op]
        if scale.shape != (kernel.shape[axis],) or shift.shape != scale.shape:
            continue
        shape = [1] * kernel.ndim
        shape[axis] = -1
        _set_filter(graph_def, layer, kernel * scale.reshape(shape))
        graph_def.node.remove(mul)
        add.op = "BiasAdd"
        del add.input[:]
        add.input.extend([layer.name, _add_const(graph_def, add.name + "/folded_shift", shift)])
        add.attr["data_format"].s = b"NHWC"
        folded += 1
    return folded


def _foldable(layer) -> bool:
    if layer.op not in OUT_AXIS or not _is_float32(layer):
        return False
    if layer.op == "MatMul":
        return not layer.attr["transpose_b"].b
    return layer.attr["data_format"].s in (b"", b"NHWC")


def _set_filter(graph_def, layer, kernel: np.ndarray) -> None:
    """The layer's filter becomes `kernel`. A stride-1 SAME transposed convolution becomes the
    convolution it equals, which oneDNN fuses with the bias and activation after it."""
    if layer.op == "Conv2DBackpropInput" and _same_nhwc(layer, stride=1):
        kernel = kernel[::-1, ::-1].transpose(0, 1, 3, 2)  # [h, w, out, in] -> [h, w, in, out]
        layer.op = "Conv2D"  # the same attributes; inputs (sizes, filter, x) -> (x, filter)
        x, kernel_input = layer.input[2], layer.input[1]
        del layer.input[:]
        layer.input.extend([x, kernel_input])
    layer.input[1] = _add_const(graph_def, layer.name + "/folded_filter", kernel)


def subpixel_image_layer(graph_def) -> int:
    """The few-channel stride-2 transposed convolutions -> Conv2D + DepthToSpace under their
    names; how many it rewrote."""
    import tensorflow as tf

    targets = [
        node
        for node in graph_def.node
        if node.op == "Conv2DBackpropInput" and _is_float32(node) and _same_nhwc(node, stride=2)
    ]
    kernels = _values(graph_def, [node.input[1] for node in targets])
    chosen = [
        (node, kernel)
        for node, kernel in zip(targets, kernels)
        if kernel.shape[:2] == (5, 5) and kernel.shape[2] <= MAX_CHANNELS
    ]
    for node, kernel in chosen:
        graph_def.node.remove(node)
        weights = _add_const(graph_def, node.name + "/subpixel_filter", subpixel_filter(kernel))
        conv = graph_def.node.add(name=node.name + "/subpixel", op="Conv2D")
        conv.input.extend([node.input[2], weights])
        conv.attr["T"].type = tf.float32.as_datatype_enum
        conv.attr["strides"].list.i.extend([1, 1, 1, 1])
        conv.attr["dilations"].list.i.extend([1, 1, 1, 1])
        conv.attr["padding"].s, conv.attr["data_format"].s = b"SAME", b"NHWC"
        shuffle = graph_def.node.add(name=node.name, op="DepthToSpace", input=[conv.name])
        shuffle.attr["T"].type = tf.float32.as_datatype_enum
        shuffle.attr["block_size"].i, shuffle.attr["data_format"].s = 2, b"NHWC"
    return len(chosen)


REWRITES = (("folded", fold_batch_norm), ("sub-pixel", subpixel_image_layer))


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


def _function(graph_def, inputs: list[str], outputs: list[str]):
    import tensorflow as tf

    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=""), []
    )
    get = wrapped.graph.get_tensor_by_name
    return wrapped.prune([get(name) for name in inputs], [get(name) for name in outputs])


def _is_float32(node) -> bool:
    import tensorflow as tf

    return node.attr["T"].type == tf.float32.as_datatype_enum


def _same_nhwc(node, stride: int) -> bool:
    return (
        list(node.attr["strides"].list.i) == [1, stride, stride, 1]
        and node.attr["padding"].s == b"SAME"
        and node.attr["data_format"].s in (b"", b"NHWC")
        and list(node.attr["dilations"].list.i) in ([], [1, 1, 1, 1])
    )


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _users(graph_def) -> dict[str, list]:
    users: dict[str, list] = {}
    for node in graph_def.node:
        for tensor in node.input:
            users.setdefault(_node_name(tensor), []).append(node)
    return users


def _is_constant(nodes: dict, tensor: str) -> bool:
    """Whether `tensor` depends on no graph input."""
    pending, seen = [_node_name(tensor)], set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            if nodes[name].op == "Placeholder":
                return False
            pending += [_node_name(i) for i in nodes[name].input]
    return True


def _values(graph_def, tensors: list[str]) -> list[np.ndarray]:
    """The values of constant tensors ("name" or "name:i") of the graph."""
    if not tensors:
        return []
    names = [t if ":" in t else t + ":0" for t in tensors]
    return [value.numpy() for value in _function(graph_def, [], names)()]


def _add_const(graph_def, name: str, value: np.ndarray) -> str:
    import tensorflow as tf

    node = graph_def.node.add(name=name, op="Const")
    node.attr["dtype"].type = tf.float32.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.asarray(value, np.float32)))
    return name


def _random_inputs(specs, rows: int = 4) -> list:
    """Inputs for a check: normal noise for float inputs [None, D], 0..rows-1 for int ones."""
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((rows, *spec.shape[1:])).astype(np.float32)
        if spec.dtype.is_floating
        else np.arange(rows).astype(spec.dtype.as_numpy_dtype)
        for spec in specs
    ]
