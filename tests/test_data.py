import gzip

import numpy as np
import pytest

from tests.conftest import synthetic_mnist, train_cli
from training.cli import main
from training.data import IDX_FILES, DataError, load_mnist, make_dataset


def write_idx(path, array: np.ndarray, magic: int, compress: bool = False) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)


def idx_folder(folder, compress=False):
    folder.mkdir()
    arrays = np.load(synthetic_mnist(folder.parent / "src.npz", train=64, test=16))
    for key, stem in IDX_FILES.items():
        write_idx(folder / stem, arrays[key], 2051 if key[0] == "x" else 2049, compress)
    return folder, arrays


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_reads_like_the_npz(tmp_path, compress):
    folder, arrays = idx_folder(tmp_path / "idx", compress)
    mnist = load_mnist(folder)
    for key in IDX_FILES:
        np.testing.assert_array_equal(getattr(mnist, key), arrays[key])


def test_mnist_path_env_is_used(tmp_path, monkeypatch):
    path = synthetic_mnist(tmp_path / "m.npz", train=32, test=8)
    monkeypatch.setenv("MNIST_PATH", str(path))
    assert load_mnist().x_train.shape == (32, 28, 28)


def test_a_failed_download_is_a_data_error(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")  # what keras's get_file meets offline

    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="network is unreachable.*MNIST_PATH"):
        load_mnist()


def bad_npz(tmp_path, **changes):
    arrays = dict(np.load(synthetic_mnist(tmp_path / "good.npz", train=32, test=8)))
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(tmp_path / "bad.npz", **arrays)
    return tmp_path / "bad.npz"


BAD_CASES = {
    "missing file": (lambda t: t / "nope.npz", "no such file"),
    "not an npz": (lambda t: (t / "x.npz").write_text("hello") and t / "x.npz", "not a readable"),
    "missing key": (lambda t: bad_npz(t, y_test=None), "missing keys y_test"),
    "wrong shape": (lambda t: bad_npz(t, x_train=np.zeros((4, 32, 32), np.uint8)), "[N, 28, 28]"),
    "wrong dtype": (lambda t: bad_npz(t, x_test=np.zeros((8, 28, 28), np.float32)), "uint8"),
    "bad labels": (lambda t: bad_npz(t, y_train=np.full(32, 12, np.uint8)), "digits 0..9"),
    "idx missing file": (lambda t: (t / "empty").mkdir() or t / "empty", "IDX files"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_data_is_one_line_and_status_2(tmp_path, capsys, case):
    make, expected = BAD_CASES[case]
    path = make(tmp_path)
    with pytest.raises(DataError, match=expected.replace("[", r"\[")):
        load_mnist(path)
    status = main(["--data", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith(f"dcgan-train: error: {path}") and expected in err[-1]
    assert not any("Traceback" in line for line in err)


def test_bad_idx_magic(tmp_path):
    folder, _ = idx_folder(tmp_path / "idx")
    (folder / "train-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x03" + b"\0" * 20)
    with pytest.raises(DataError, match="expected magic number 2049"):
        load_mnist(folder)


@pytest.mark.slow
def test_cli_process_exits_2_without_traceback(tmp_path):
    done = train_cli("--data", tmp_path / "missing.npz", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"dcgan-train: error: {tmp_path / 'missing.npz'}: no such file" in done.stderr


def test_dataset_scales_shuffles_per_epoch_and_batches(tmp_path):
    images = np.arange(10, dtype=np.uint8)[:, None, None].repeat(28, 1).repeat(28, 2)
    labels = np.arange(10, dtype=np.uint8)

    def epoch_order(epoch):
        batches = list(make_dataset(images, labels, batch_size=4, seed=1, epoch=epoch))
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        return np.concatenate([b[1].numpy() for b in batches])

    first = epoch_order(1)
    assert sorted(first) == list(range(10))
    assert list(first) == list(epoch_order(1))  # the same (seed, epoch): the same order
    assert list(first) != list(epoch_order(2))  # reshuffled the next epoch
    scaled, _ = next(iter(make_dataset(images * 28, labels, 10, 0, 1)))
    assert scaled.shape == (10, 28, 28, 1) and scaled.dtype == "float32"
    assert float(scaled.numpy().min()) == -1.0 and float(scaled.numpy().max()) <= 1.0
