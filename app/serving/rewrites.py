"""Graph rewrites a generator's frozen graph gets at load (see app/serving/graphs.py): each edits a
GraphDef in place and returns how many places it changed."""

from __future__ import annotations

import numpy as np

MAX_CHANNELS = 4  # sub-pixel: rewrite transposed convolutions that make at most this many channels
# Output 2m + r (r: 0 or 1) of a stride-2, 5-tap transposed convolution padded SAME (one before)
# takes tap k of input m + d: TAPS[r] = {d: k}.
TAPS = {0: {-1: 3, 0: 1}, 1: {-1: 4, 0: 2, 1: 0}}
# Per layer kind that a scale folds into: its filter's output-channel axis (filter: input 1).
OUT_AXIS = {"MatMul": 1, "Conv2D": 3, "Conv2DBackpropInput": 2}


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


def function(graph_def, inputs: list[str], outputs: list[str]):
    """The graph as a ConcreteFunction from tensors `inputs` to tensors `outputs`."""
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
    return [value.numpy() for value in function(graph_def, [], names)()]


def _add_const(graph_def, name: str, value: np.ndarray) -> str:
    import tensorflow as tf

    node = graph_def.node.add(name=name, op="Const")
    node.attr["dtype"].type = tf.float32.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.asarray(value, np.float32)))
    return name
