"""python -m training.reexport: a version exported again as the next one."""

import json

import numpy as np
import tensorflow as tf

from tests.conftest import export_tiny, spread_prior
from training.config import TrainConfig
from training.export import export_generator
from training.models import make_pair
from training.reexport import load_prior, main


def images(version_dir, conditional: bool) -> np.ndarray:
    serve = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    inputs = {"noise": tf.constant(rng.standard_normal((8, 100)).astype(np.float32))}
    if conditional:
        inputs["labels"] = tf.constant(np.arange(8) % 10, tf.int32)
    return serve(**inputs)["images"].numpy()


def variables_size(version_dir) -> int:
    return sum(p.stat().st_size for p in (version_dir / "variables").iterdir())


class OldServing(tf.Module):
    """How exports were saved before --export-weights: the Keras model itself, tracked."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        specs = [tf.TensorSpec([None, 100], tf.float32, name="noise")]
        specs.append(tf.TensorSpec([None], tf.int32, name="labels"))
        self.serve = tf.function(
            lambda noise, labels: {"images": self.generator([noise, labels], training=False)},
            input_signature=specs,
        )


def old_export(folder, generator) -> None:
    module = OldServing(generator)
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    info = {"name": "cdcgan", "version": 2, "conditional": True, "noise_dim": 100}
    info |= {"training": TrainConfig(conditional=True).to_dict(), "averaged_epochs": [5, 6]}
    info |= {"metrics": {"fid_mnist": 20.0}}
    (folder / "model.json").write_text(json.dumps(info))
    (folder / "progress.gif").write_bytes(b"GIF89a")


def test_an_export_of_the_old_kind_in_float16(tmp_path, capsys):
    """Its float16 copy is half the size, keeps the training record, drops the old metrics
    and draws what the original does to within half a grey level (1/127.5)."""
    generator, _ = make_pair(True)
    old = tmp_path / "cdcgan" / "2"
    old_export(old, generator)
    assert main([str(old), "--export-weights", "float16"]) == 0
    new = tmp_path / "cdcgan" / "3"
    assert capsys.readouterr().out.strip() == str(new)
    info = json.loads((new / "model.json").read_text())
    assert info["weights"] == "float16" and info["reexported_from"] == "cdcgan@2"
    assert info["version"] == 3 and info["training"] == TrainConfig(conditional=True).to_dict()
    assert info["averaged_epochs"] == [5, 6] and "metrics" not in info
    assert (new / "progress.gif").read_bytes() == b"GIF89a"
    assert 0 < np.abs(images(new, True) - images(old, True)).max() < 0.5 / 127.5
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


def test_a_prior_export_again_on_the_same_weights_keeps_prior_signatures_and_metrics(tmp_path):
    """As the shipped dcgan@3 got its latent signatures: its images to the bit, its prior as
    stored, its quality numbers (the same images score the same)."""
    prior = spread_prior()
    first = export_tiny(tmp_path / "dcgan", False, seed=1, prior=prior, weights="float16")
    info = json.loads((first / "model.json").read_text())
    info["metrics"] = {"fid_mnist": 9.0}
    (first / "model.json").write_text(json.dumps(info))
    assert main([str(first), "--export-weights", "float16"]) == 0
    second = tmp_path / "dcgan" / "2"
    np.testing.assert_array_equal(images(second, False), images(first, False))
    again = json.loads((second / "model.json").read_text())
    assert again["metrics"] == {"fid_mnist": 9.0} and again["prior"] == info["prior"]
    assert "latent_signatures" in again["signature"]
    for a, b in zip(load_prior(second, again).arrays(), prior.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_prior_export_is_not_narrowed_to_float16(tmp_path, capsys):
    version = export_tiny(tmp_path / "dcgan", False, seed=1, prior=spread_prior())
    assert main([str(version), "--export-weights", "float16"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after the export's log, if logged
    assert last.startswith("python -m training.reexport: error: its prior was fitted to its")
    assert sorted(p.name for p in (tmp_path / "dcgan").iterdir() if p.name.isdigit()) == ["1"]
