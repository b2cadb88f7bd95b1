"""MNIST from an .npz, a folder of IDX files or Keras's downloader, as a tf.data pipeline."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


class DataError(Exception):
    """The dataset could not be read; the message names the path and what was expected."""


class Mnist(NamedTuple):
    x_train: np.ndarray  # uint8 [N, 28, 28]
    y_train: np.ndarray  # uint8 [N]
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def describe(self, limit: int | None = None) -> dict:
        """What a run trained on, for model.json: where MNIST came from and how many images."""
        return {
            "source": self.source,
            "train_images": min(len(self.x_train), limit or len(self.x_train)),
        }


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from `path`, else $MNIST_PATH, else keras.datasets.mnist."""
    path = path or os.environ.get("MNIST_PATH")
    if not path:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as exc:  # offline, or a proxy's error page instead of the file
            raise DataError(
                f"could not download MNIST with keras.datasets.mnist ({type(exc).__name__}: "
                f"{exc}); point MNIST_PATH (or --data) at a local mnist.npz"
            ) from exc
        return Mnist(x_train, y_train, x_test, y_test, "keras.datasets.mnist")
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder (expected a Keras mnist.npz or IDX folder)"
        )
    arrays = _read_idx_folder(path) if path.is_dir() else _read_npz(path)
    for key in IDX_FILES:
        _check(path, key, arrays[key])
    if len(arrays["x_train"]) != len(arrays["y_train"]) or len(arrays["x_test"]) != len(
        arrays["y_test"]
    ):
        raise DataError(f"{path}: image and label counts differ")
    return Mnist(**arrays, source=str(path))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in IDX_FILES if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing keys {', '.join(missing)} "
                    f"(expected x_train, y_train, x_test, y_test; found {', '.join(npz.files)})"
                )
            return {k: npz[k] for k in IDX_FILES}
    except DataError:
        raise
    except Exception as exc:  # numpy raises several types for a file that is not an .npz
        raise DataError(
            f"{path}: not a readable .npz file ({type(exc).__name__}); "
            "expected a Keras mnist.npz or a folder of MNIST IDX files"
        ) from None


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise DataError(
                f"{folder}: missing {stem} (or {stem}.gz); expected the four MNIST IDX files"
            )
        arrays[key] = _read_idx(found, IMAGE_MAGIC if key.startswith("x") else LABEL_MAGIC)
    return arrays


def _read_idx(path: Path, magic: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header = 4 + 4 * ndim
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise DataError(f"{path}: not an MNIST IDX file (expected magic number {magic})")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=header)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {body.size} bytes")
    return body.reshape(dims)


def _check(path: Path, key: str, array: np.ndarray) -> None:
    want = "[N, 28, 28]" if key.startswith("x") else "[N]"
    ok_shape = array.shape[1:] == (28, 28) if key.startswith("x") else array.ndim == 1
    if array.dtype != np.uint8 or not ok_shape or len(array) == 0:
        raise DataError(
            f"{path}: {key} is {array.dtype} {list(array.shape)}; expected uint8 {want}"
        )
    if key.startswith("y") and array.max() > 9:
        raise DataError(f"{path}: {key} holds label {array.max()}; expected digits 0..9")


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 [N,28,28] -> float32 [N,28,28,1] in [-1, 1], as the tutorial."""
    return (images.astype(np.float32)[..., None] - 127.5) / 127.5


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epoch: int):
    """One epoch of shuffled (image, label) batches; the order depends only on (seed, epoch).

    A fixed per-epoch order lets a run interrupted mid-epoch resume at the very next batch.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    ds = ds.shuffle(len(images), seed=seed * 100_003 + epoch, reshuffle_each_iteration=False)
    ds = ds.batch(batch_size).map(_scale, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _scale(images, labels):
    import tensorflow as tf

    return (tf.cast(images, tf.float32)[..., None] - 127.5) / 127.5, labels
