"""Exports load with plain TensorFlow in a fresh process, as the service and TF Serving will."""

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import QUIET_TF, read_events, train_cli
from training.config import TrainConfig
from training.evaluate import saved_model_generator
from training.export import EXPORT_PREFIX, LAST_VERSION_FILE, export_generator, saved_model_dir
from training.models import make_pair

# TF Serving's version folder; TensorFlow adds an empty assets/ to some
SAVED_MODEL = {"saved_model.pb", "variables", "fingerprint.pb"}

RELOAD = """
import sys, numpy as np, tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
inputs = {"noise": tf.random.normal([16, 100])}
if sys.argv[2] == "conditional":
    inputs["labels"] = tf.constant(np.arange(16) % 10, tf.int32)
images = serve(**inputs)["images"].numpy()
assert images.shape == (16, 28, 28, 1) and images.dtype == np.float32, images.shape
assert -1 <= images.min() and images.max() <= 1
print("ok", sorted(serve.structured_input_signature[1]))
"""


def reload_in_fresh_process(version_dir, kind: str) -> str:
    """tf.saved_model.load(VERSION) itself, as TF Serving reads models/NAME/VERSION."""
    done = subprocess.run(
        [sys.executable, "-c", RELOAD, str(version_dir), kind],
        cwd="/",
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_TF},
        timeout=120,
    )  # cwd=/ so that nothing of this project is importable
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_export_versions_and_reload_without_project_code(tmp_path):
    for conditional in (False, True):
        config = TrainConfig(conditional=conditional)
        generator, _ = make_pair(conditional)
        base = tmp_path / ("cdcgan" if conditional else "dcgan")
        first = export_generator(generator, config, base, {"epochs_trained": 0})
        second = export_generator(generator, config, base, {"epochs_trained": 0})
        assert (first.name, second.name) == ("1", "2")
        assert sorted(p.name for p in base.iterdir()) == [LAST_VERSION_FILE, "1", "2"]  # no temp
        files = {p.name for p in second.iterdir()}
        assert files - {"assets"} == SAVED_MODEL | {"model.json", "grid.png"}, files
        info = json.loads((second / "model.json").read_text())
        assert info["name"] == base.name and info["version"] == 2
        assert info["conditional"] is conditional and info["noise_dim"] == 100
        kind = "conditional" if conditional else "plain"
        expected = "['labels', 'noise']" if conditional else "['noise']"
        assert expected in reload_in_fresh_process(second, kind)


def test_float16_weights_halve_the_export_and_compute_as_float32(tmp_path):
    """The float32 export computes what the Keras model does, bit for bit; float16 storage
    halves the variables and moves pixels by less than half a grey level (1/127.5)."""
    import tensorflow as tf

    generator, _ = make_pair(False)
    config = TrainConfig()
    noise = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    images, sizes = {}, {}
    for weights in ("float32", "float16"):
        version = export_generator(generator, config, tmp_path / weights, {}, weights=weights)
        assert json.loads((version / "model.json").read_text())["weights"] == weights
        serve = tf.saved_model.load(str(version)).signatures["serving_default"]
        images[weights] = serve(noise=tf.constant(noise))["images"].numpy()
        sizes[weights] = sum(p.stat().st_size for p in (version / "variables").iterdir())
    np.testing.assert_array_equal(images["float32"], generator(noise, training=False).numpy())
    assert 0 < np.abs(images["float16"] - images["float32"]).max() < 0.5 / 127.5
    assert 0.45 < sizes["float16"] / sizes["float32"] < 0.55, sizes


@pytest.mark.slow
def test_cli_export_after_training(tmp_path, mnist_path):
    events = tmp_path / "events.jsonl"
    done = train_cli(
        "--data",
        mnist_path,
        "--limit",
        "256",
        "--epochs",
        1,
        "--conditional",
        "--out",
        tmp_path / "run",
        "--export",
        tmp_path / "models" / "digits",
        "--events",
        events,
        "--export-weights",
        "float16",
    )
    assert done.returncode == 0, done.stderr
    version = tmp_path / "models" / "digits" / "1"
    info = json.loads((version / "model.json").read_text())
    assert info["weights"] == "float16"
    assert info["epochs_trained"] == 1 and info["dataset"]["train_images"] == 256
    assert info["training"]["conditional"] and info["tensorflow"]
    assert set(info["final_losses"]) == {"generator", "discriminator"}
    assert (version / "progress.gif").exists()
    assert read_events(events)[-2] == {**read_events(events)[-2], "event": "export", "version": 1}
    reload_in_fresh_process(version, "conditional")


@pytest.mark.slow
def test_resume_at_the_last_epoch_exports_the_run_as_it_is(tmp_path, mnist_path):
    run, models = tmp_path / "run", tmp_path / "models" / "digits"
    common = ("--data", mnist_path, "--limit", "256", "--batch-size", "64", "--out", run)
    assert train_cli(*common, "--epochs", 1).returncode == 0
    done = train_cli(*common, "--resume", "--epochs", 1, "--export", models)
    assert done.returncode == 0, done.stderr
    info = json.loads((models / "1" / "model.json").read_text())
    assert info["epochs_trained"] == 1
    assert "final_losses" not in info  # no epoch ran in the exporting invocation
    assert (models / "1" / "progress.gif").exists()


def old_layout(version, folder):
    """A copy of `version` as exports were before TF Serving's layout: VERSION/saved_model/."""
    shutil.copytree(version, folder)
    (folder / "saved_model").mkdir()
    for name in SAVED_MODEL | {"assets"}:
        if (folder / name).exists():
            (folder / name).rename(folder / "saved_model" / name)
    return folder


def test_training_reads_the_old_layout_too_and_says_so(tmp_path, models_dir, caplog):
    new = models_dir / "dcgan" / "1"
    old = old_layout(new, tmp_path / "dcgan" / "1")
    logger = logging.getLogger("training")
    logger.addHandler(caplog.handler)  # the CLIs' set-up stops propagation to the root logger
    try:
        with caplog.at_level(logging.INFO, logger="training"):
            assert saved_model_dir(new) == new and not caplog.records
            assert saved_model_dir(old) == old / "saved_model"
            generate_old, info = saved_model_generator(old)
    finally:
        logger.removeHandler(caplog.handler)
    assert "the layout before TF Serving's" in caplog.text
    generate_new, _ = saved_model_generator(new)
    noise = np.random.default_rng(0).standard_normal((4, info["noise_dim"])).astype(np.float32)
    labels = np.zeros(4, np.int32)
    np.testing.assert_array_equal(generate_old(noise, labels), generate_new(noise, labels))
    with pytest.raises(FileNotFoundError, match="no saved_model.pb"):
        saved_model_dir(tmp_path)


def test_a_failed_export_leaves_no_temporary_folder(tmp_path):
    """On a full disk (a real, small filesystem) and on any other failure."""
    from tests.conftest import small_disk

    generator, _ = make_pair(False)
    with small_disk(tmp_path / "disk", "1m") as disk:
        with pytest.raises(Exception, match="No space left on device"):  # TensorFlow's own error
            export_generator(generator, TrainConfig(), disk / "mine", {})
        assert list((disk / "mine").iterdir()) == []  # and the disk has room again
    with pytest.raises(IsADirectoryError):  # an extra file that is a folder
        export_generator(generator, TrainConfig(), tmp_path / "other", {}, (tmp_path,))
    assert not list((tmp_path / "other").glob(f"{EXPORT_PREFIX}*"))


def test_an_export_is_numbered_above_the_high_water_mark(tmp_path):
    base = tmp_path / "mine"
    base.mkdir()
    (base / LAST_VERSION_FILE).write_text("6\n")  # versions up to 6 existed once
    generator, _ = make_pair(False)
    assert export_generator(generator, TrainConfig(), base, {}).name == "7"
    assert (base / LAST_VERSION_FILE).read_text() == "7\n"
