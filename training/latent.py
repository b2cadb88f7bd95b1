"""The generator's input distribution: the tutorial's standard normal, or a fitted mixture.

The service always sends standard normal noise; an export with a `Prior` maps it inside its
signature, so every client, cache and self-test of the service works unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

# u = Phi(x) is kept this far from 0 and 1 so that Phi^-1 of a rescaled u stays finite
QUANTILE_EPS = 1e-12


@dataclasses.dataclass(frozen=True)
class Prior:
    """A mixture of full-covariance Gaussians in noise space: mode k is N(means[k], L L^T) with
    L = cholesky[k], drawn with probability weights[k]."""

    means: np.ndarray  # [K, D]
    cholesky: np.ndarray  # [K, D, D], lower triangular
    weights: np.ndarray  # [K], sums to 1

    def arrays(self) -> list[np.ndarray]:
        """What `mixture_latent` takes: means, cholesky, cumulative weights (float32)."""
        cumulative = np.cumsum(self.weights / self.weights.sum())
        return [a.astype(np.float32) for a in (self.means, self.cholesky, cumulative)]


def mixture_latent(noise, means, cholesky, cumulative) -> tf.Tensor:
    """Standard normal noise [N, D] -> draws of the mixture, one per row, row by row.

    The last coordinate's quantile u picks the mode (u falls in mode k's share of [0, 1]), and
    u rescaled within that share gives back a standard normal coordinate, so each row uses D
    independent normals for one exact draw: z = means[k] + cholesky[k] @ noise'."""
    noise = tf.convert_to_tensor(noise, tf.float32)
    last = tf.cast(noise[:, -1], tf.float64)
    u = 0.5 * tf.math.erfc(-last / np.sqrt(2.0))  # Phi(last), exact in both tails
    u = tf.clip_by_value(u, QUANTILE_EPS, 1 - QUANTILE_EPS)
    cumulative = tf.cast(cumulative, tf.float64)
    modes = tf.shape(cumulative)[0]
    passed = tf.cast(u[:, None] >= cumulative[None, :], tf.int32)  # thresholds at or below u
    k = tf.minimum(tf.reduce_sum(passed, 1), modes - 1)
    low = tf.gather(tf.concat([[0.0], cumulative[:-1]], 0), k)
    share = tf.gather(cumulative, k) - low
    within = tf.clip_by_value((u - low) / share, QUANTILE_EPS, 1 - QUANTILE_EPS)
    standard = tf.concat([tf.cast(noise[:, :-1], tf.float64), tf.math.ndtri(within)[:, None]], 1)
    picked = tf.cast(tf.gather(cholesky, k), tf.float64)  # [N, D, D]
    # float64, which the service's bfloat16 graph rewrite leaves alone: the draws are the same
    # in both precisions, however the rewrite treats each graph
    z = tf.cast(tf.gather(means, k), tf.float64) + tf.linalg.matvec(picked, standard)
    return tf.cast(z, tf.float32)
