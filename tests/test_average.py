import json

import keras
import numpy as np
import tensorflow as tf

from training import average
from training.config import TrainConfig
from training.models import make_pair


def write_run(run, epochs) -> list:
    """A run folder with one checkpoint per epoch of differently initialised generators."""
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(conditional=True).save(run / "config.json")
    generators = []
    for epoch in epochs:
        keras.utils.set_random_seed(epoch)
        generator, _ = make_pair(conditional=True)
        state = tf.train.Checkpoint(generator=generator, epoch=tf.Variable(epoch, dtype=tf.int64))
        tf.train.CheckpointManager(state, run / "checkpoints", None).save(epoch)  # as runs do
        generators.append(generator)
    return generators


def test_average_exports_the_mean_of_the_checkpoints_generators(tmp_path):
    run = tmp_path / "run"
    first, second = write_run(run, (3, 4))
    base = tmp_path / "models" / "cdcgan"
    ckpts = [str(run / "checkpoints" / f"ckpt-{e}") for e in (3, 4)]
    assert average.main([*ckpts, "--export", str(base)]) == 0
    info = json.loads((base / "1" / "model.json").read_text())
    assert info["averaged_epochs"] == [3, 4] and info["epochs_trained"] == 4
    assert info["conditional"] is True
    mean, _ = make_pair(conditional=True)
    mean.set_weights([(a + b) / 2 for a, b in zip(first.get_weights(), second.get_weights())])
    noise = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    labels = np.arange(8, dtype=np.int32)
    serve = tf.saved_model.load(str(base / "1")).signatures["serving_default"]
    served = serve(noise=tf.constant(noise), labels=tf.constant(labels))["images"].numpy()
    expected = mean([noise, labels], training=False).numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert not np.allclose(served, first([noise, labels], training=False).numpy(), atol=1e-3)


def test_average_names_a_missing_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    write_run(run, (1,))
    missing = run / "checkpoints" / "ckpt-9"
    assert average.main([str(missing), "--export", str(tmp_path / "m")]) == 2
    assert f"no checkpoint {missing}" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_average_refuses_checkpoints_of_another_kind_of_run(tmp_path, capsys):
    run = tmp_path / "run"
    write_run(run, (1,))
    TrainConfig(conditional=False).save(run / "config.json")  # the checkpoint is conditional
    assert average.main([str(run / "checkpoints" / "ckpt-1"), "--export", str(tmp_path / "m")]) == 2
    assert "do not fit" in capsys.readouterr().err
