"""python -m training.reexport: a version exported again as the next one."""

import json
import shutil

import numpy as np
import tensorflow as tf

from tests.conftest import ROOT
from training.config import TrainConfig
from training.export import export_generator
from training.models import make_pair
from training.reexport import main


def images(version_dir, conditional: bool) -> np.ndarray:
    serve = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    inputs = {"noise": tf.constant(rng.standard_normal((8, 100)).astype(np.float32))}
    if conditional:
        inputs["labels"] = tf.constant(np.arange(8) % 10, tf.int32)
    return serve(**inputs)["images"].numpy()


def variables_size(version_dir) -> int:
    return sum(p.stat().st_size for p in (version_dir / "variables").iterdir())


def test_a_shipped_export_of_the_old_kind_in_float16(tmp_path, capsys):
    """The shipped cdcgan@2 saved the Keras model itself; its float16 copy is half the size and
    draws what it does to within half a grey level (1/127.5)."""
    old = shutil.copytree(ROOT / "models" / "cdcgan" / "2", tmp_path / "cdcgan" / "2")
    assert main([str(old), "--export-weights", "float16"]) == 0
    new = tmp_path / "cdcgan" / "3"
    assert capsys.readouterr().out.strip() == str(new)
    was, info = (json.loads((v / "model.json").read_text()) for v in (old, new))
    assert info["weights"] == "float16" and info["reexported_from"] == "cdcgan@2"
    assert info["version"] == 3 and was["training"].items() <= info["training"].items()
    assert info["averaged_epochs"] == was["averaged_epochs"] and "metrics" not in info
    assert (new / "progress.gif").read_bytes() == (old / "progress.gif").read_bytes()
    assert np.abs(images(new, True) - images(old, True)).max() < 0.5 / 127.5
    assert 0.45 < variables_size(new) / variables_size(old) < 0.55


def test_float16_back_to_float32_draws_the_same_bytes(tmp_path):
    generator, _ = make_pair(False)
    first = export_generator(generator, TrainConfig(), tmp_path / "m", {}, weights="float16")
    assert main([str(first), "--export-weights", "float32"]) == 0
    second = tmp_path / "m" / "2"
    assert json.loads((second / "model.json").read_text())["weights"] == "float32"
    np.testing.assert_array_equal(images(second, False), images(first, False))


def test_not_an_export_is_one_line_and_status_2(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no model.json (expected models/NAME/VERSION)" in err and err.count("\n") == 1
