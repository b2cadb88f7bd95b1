"""The graph a generator serves: its signature with the weights as constants, rewritten at load
into faster kernels for the same products (what each gains: docs/benchmarks.md, 'Full batches and
a sub-pixel image layer' and 'Batch norms folded into the layers before them'):

- `folded`: an inference batch norm after a dense or convolution layer (x * scale + shift per
  channel, constants) goes into the layer's filter and a BiasAdd, and a stride-1 transposed
  convolution becomes the convolution it equals, so oneDNN runs layer, bias and activation as one
  kernel. Elementwise ops are slow in bfloat16, so it helps there most.
- `sub-pixel`: a stride-2, 5x5, SAME transposed convolution to few channels (the image layer, 64
  channels to 1) is slow on CPUs for the little arithmetic it does. It equals a 3x3 convolution
  to 4x the channels, one per output phase (row and column parity), then depth-to-space. The
  64-channel layer before it was not faster so.

Both sum the same products in another order (plus some by zero), so float32 images move a little
(docs/api.md). The rewritten graph is kept only if it agrees with the exported one on random
inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from app.serving.rewrites import REWRITES, function

log = logging.getLogger("app")
# An export with a fitted prior has these beside serving_default, which is the second applied to
# the first (model.json: signature.latent_signatures; training/export.py writes them)
LATENT_SIGNATURES = NOISE_TO_LATENT, LATENT_TO_IMAGES = "noise_to_latent", "latent_to_images"


def served_calls(signatures, conditional: bool, noise_dim: int, latent: bool) -> tuple:
    """What a generator calls, as concrete functions (a call skips tf.function's argument
    binding): (rows [N, D], labels [N]) -> images, where the rows are noise, or latent
    codes when `latent`; then noise -> latent codes (None: the codes are the noise); then how
    the images' graph holds its weights and which rewrites it got (`constant_weights`)."""
    import tensorflow as tf

    images, weights, graph = constant_weights(
        signatures[LATENT_TO_IMAGES if latent else "serving_default"]
    )
    rows = "latent" if latent else "noise"
    specs = [tf.TensorSpec([None, noise_dim]), tf.TensorSpec([None], tf.int32)]

    def call(inputs, labels):
        inputs = {rows: inputs} | ({"labels": labels} if conditional else {})
        return images(**inputs)["images"]

    batched = tf.function(call, input_signature=specs).get_concrete_function()
    if not latent:
        return batched, None, weights, graph
    draw, *_ = constant_weights(signatures[NOISE_TO_LATENT], rewrite=False)
    to_latent = tf.function(lambda noise: draw(noise=noise)["latent"], input_signature=specs[:1])
    return batched, to_latent.get_concrete_function(), weights, graph


def constant_weights(signature, rewrite: bool = True) -> tuple[Callable, str, str]:
    """The signature with its weights folded into the graph as constants, and "constants"; or
    the signature itself and "variables" when that cannot be done. Third, the rewrites made
    (`rewritten`), or "exported".

    A call then no longer reads and casts the stored (float16) weights, nor, in bfloat16, casts
    them again: grappler folds those casts once, at load, and the floats equal the signature's
    (docs/benchmarks.md, 'AMD EPYC with AVX512-BF16, no AMX (2026-12-01)')."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,  # what the TFLite converter freezes with
    )

    try:
        frozen = convert_variables_to_constants_v2(signature)
    except Exception as exc:  # e.g. a graph that writes its variables: serve it unchanged
        log.warning("weights kept as variables: %s: %s", type(exc).__name__, exc)
        return signature, "variables", "exported"
    names = [tensor.name.split(":")[0] for tensor in frozen.inputs]  # "noise:0" -> "noise"
    output = next(iter(signature.structured_outputs))  # "images"; "latent" of noise_to_latent
    if sorted(names) != sorted(signature.structured_input_signature[1]) or len(frozen.outputs) != 1:
        log.warning("weights kept as variables: the folded graph's inputs are %s", names)
        return signature, "variables", "exported"
    graph = "exported"
    if rewrite:
        frozen, graph = rewritten(frozen)

    def call(**inputs):
        return {output: frozen(*[inputs[name] for name in names])[0]}

    return call, "constants", graph


def rewritten(frozen, rewrites=REWRITES) -> tuple[object, str]:
    """`frozen` (a ConcreteFunction whose weights are constants) with the rewrites that apply,
    and their names joined by "+". Unchanged, and "exported", when none applies or when the
    rewritten graph's images on random inputs are not within a few grey levels of the original's
    (on average: in bfloat16 single pixels may move further)."""
    import tensorflow as tf

    graph_def = frozen.graph.as_graph_def()
    inputs, outputs = [t.name for t in frozen.inputs], [t.name for t in frozen.outputs]
    try:
        applied = [name for name, rewrite in rewrites if rewrite(graph_def)]
        if not applied:
            return frozen, "exported"
        candidate = function(graph_def, inputs, outputs)
        check = [tf.constant(value) for value in _random_inputs(frozen.inputs)]
        want, got = frozen(*check)[0].numpy(), candidate(*check)[0].numpy()
    except (tf.errors.OpError, ValueError, KeyError, TypeError) as exc:
        log.warning("graph kept as exported: %s: %.200s", type(exc).__name__, exc)
        return frozen, "exported"
    if got.shape != want.shape or not np.abs(got - want).mean() < 0.01:
        log.warning("graph kept as exported: the rewritten graph's images differ")
        return frozen, "exported"
    return candidate, "+".join(applied)


def _random_inputs(specs, rows: int = 4) -> list:
    """Inputs for a check: normal noise for float inputs [None, D], 0..rows-1 for int ones."""
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((rows, *spec.shape[1:])).astype(np.float32)
        if spec.dtype.is_floating
        else np.arange(rows).astype(spec.dtype.as_numpy_dtype)
        for spec in specs
    ]
