"""Does a generator copy its training set? Nearest-neighbour distances to all training images.

For N generated samples (the first N of an evaluation's images) and N held-out MNIST test images,
the L2 distance to the nearest of the training images (all 60,000), over 784 pixels scaled to
[0, 1] (so a distance of 1 is one pixel turned fully from black to white; in the generator's
[-1, 1] every distance would be twice as large, and the ratios below the same):

- `median_ratio` = median(sample distance) / median(test distance): about 1 for a generator whose
  digits are as far from the training set as unseen real digits are, near 0 when it copies.
- `close_share`: the share of samples closer to a training image than the 1st percentile of the
  test images' distances. Unseen digits score 1% by construction (`test_close_share` is that share
  measured on the same test images: 0.01 up to rounding).
- `flagged`: close_share > 0.05. Far above the 1% unseen digits score: with 2,000 samples the
  binomial standard error of 1% is 0.22%, so 5% is some 18 errors above it and chance does not
  flag an honest generator, while one that copies about one sample in 20 or more is flagged.

The test images are a fixed random subset: MNIST's first 5,000 test digits are cleaner than its
last 5,000, so the first N would not be a fair yardstick. Their distances are computed once per
MemorisationCheck; each check then costs one pass of N x 60,000 x 784 multiply-adds.
"""

from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger("training")
SAMPLES = 2_000
CLOSE_PERCENTILE = 1.0
FLAG_SHARE = 0.05
BLOCK = 4_096  # reference rows per matrix product: N x 4,096 float32 (32 MB for N = 2,000)
TEST_SUBSET_SEED = 0  # which unseen test digits are the yardstick


def unit_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 0..255, or float in [-1, 1] (generator output), as float32 [N, 784] in [0, 1]."""
    flat = images.reshape(len(images), -1)
    if flat.dtype == np.uint8:
        return flat.astype(np.float32) / 255.0
    return (flat.astype(np.float32) + 1.0) / 2.0


def nearest_distances(
    queries: np.ndarray, reference: np.ndarray, reference_sq: np.ndarray | None = None
) -> np.ndarray:
    """L2 distance from each query row (float32 [N, D]) to its nearest reference row ([M, D],
    float32 in the queries' units, or uint8 read as 0..255 -> [0, 1]).

    ||q - r||^2 = ||q||^2 + ||r||^2 - 2 q.r: one matrix product per block of reference rows and
    a running minimum, so memory stays at N x BLOCK whatever the reference's size.
    """
    if reference_sq is None:
        reference_sq = squared_norms(reference)
    best = np.full(len(queries), np.inf, np.float32)
    for start in range(0, len(reference), BLOCK):
        block = _block(reference, start)
        products = queries @ block.T
        products *= -2.0
        products += reference_sq[start : start + BLOCK]
        np.minimum(best, products.min(axis=1), out=best)
    squared = best + np.einsum("ij,ij->i", queries, queries)
    return np.sqrt(np.maximum(squared, 0.0))  # float32 rounding can dip below 0 for copies


class MemorisationCheck:
    """Training images and the test images' distances to them, ready to judge samples."""

    def __init__(self, x_train: np.ndarray, x_test: np.ndarray, samples: int = SAMPLES):
        started = time.monotonic()
        self._train = x_train.reshape(len(x_train), -1)  # uint8, as loaded
        self._train_sq = squared_norms(self._train)
        self.samples = min(samples, len(x_test))
        rng = np.random.default_rng(TEST_SUBSET_SEED)
        self.test_index = np.sort(rng.choice(len(x_test), self.samples, replace=False))
        test = nearest_distances(unit_pixels(x_test[self.test_index]), self._train, self._train_sq)
        self.test_median = float(np.median(test))
        self.threshold = float(np.percentile(test, CLOSE_PERCENTILE))
        self.test_close_share = float((test < self.threshold).mean())
        log.info(
            "memorisation reference: %d test images vs %d training images in %.1fs",
            self.samples,
            len(x_train),
            time.monotonic() - started,
        )

    def check(self, images: np.ndarray) -> dict:
        """The numbers of the module docstring for the first `samples` images ([-1, 1])."""
        started = time.monotonic()
        queries = unit_pixels(images[: self.samples])
        distances = nearest_distances(queries, self._train, self._train_sq)
        median = float(np.median(distances))
        close_share = float((distances < self.threshold).mean())
        result = {
            "samples": len(queries),
            "pixels": "[0, 1]",
            "median_distance": round(median, 4),
            "test_median_distance": round(self.test_median, 4),
            "median_ratio": round(median / self.test_median, 4),
            "close_share": round(close_share, 4),
            "test_close_share": round(self.test_close_share, 4),
            "flagged": close_share > FLAG_SHARE,
            "seconds": round(time.monotonic() - started, 2),
        }
        if result["flagged"]:
            log.warning(
                "memorisation: %.1f%% of samples are closer to a training image than 99%% of "
                "unseen test digits (flag above %.0f%%)",
                100 * close_share,
                100 * FLAG_SHARE,
            )
        return result


def _block(reference: np.ndarray, start: int) -> np.ndarray:
    """Rows start..start+BLOCK as float32; uint8 converted per block, as a float32 copy of all
    60,000 training images would take 188 MB."""
    block = reference[start : start + BLOCK]
    return unit_pixels(block) if block.dtype == np.uint8 else block


def squared_norms(reference: np.ndarray) -> np.ndarray:
    """||r||^2 of each reference row, in the units nearest_distances uses."""
    blocks = (_block(reference, start) for start in range(0, len(reference), BLOCK))
    return np.concatenate([np.einsum("ij,ij->i", block, block) for block in blocks])


def format_line(result: dict) -> str:
    """One line for people: the ratio, the close share beside the test images', the verdict."""
    verdict = "FLAGGED: looks memorised" if result["flagged"] else "ok"
    return (
        f"nearest-training-image distance ratio {result['median_ratio']:.3f} (1 = like unseen "
        f"digits), {result['close_share']:.1%} closer than 99% of unseen digits "
        f"(they: {result['test_close_share']:.1%}): {verdict}"
    )
