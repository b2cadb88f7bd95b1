"""The training CLI end to end, in real processes: outputs, clean stop, crash, resume."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import QUIET_TF, ROOT, free_port, read_events, train_cli

TINY = ("--limit", "512", "--batch-size", "64")


def wait_for(events_path, kind: str, proc: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in read_events(events_path) if e["event"] == kind]
        if found:
            return found[0]
        assert proc.poll() is None, f"trainer exited early: {proc.communicate()[1][-2000:]}"
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event within {timeout}s")


@pytest.mark.slow
def test_two_epochs_write_losses_samples_gif_and_checkpoint(tmp_path, mnist_path):
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    flags = ("--epochs", 2, "--checkpoint-every", 1, "--keep-checkpoints", 1)
    done = train_cli("--data", mnist_path, *TINY, *flags, "--out", out, "--events", events)
    assert done.returncode == 0, done.stderr
    log = read_events(events)
    # `progress` comes every 5 s, so how many depends on the machine's speed
    kinds = [e["event"] for e in log if e["event"] != "progress"]
    assert kinds == ["start", "epoch", "checkpoint", "epoch", "checkpoint", "done"]
    for epoch in (e for e in log if e["event"] == "epoch"):
        assert math.isfinite(epoch["g_loss"]) and math.isfinite(epoch["d_loss"])
        assert epoch["images_per_sec"] > 0 and Image.open(epoch["sample"]).size == (
            472,
            472,
        )  # 4x4 tiles, 2-pixel gaps, x4
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    assert Image.open(out / "progress.gif").n_frames == 2
    assert (out / "config.json").exists() and (out / "checkpoints" / "checkpoint").exists()
    assert [p.name for p in (out / "checkpoints").glob("*.index")] == ["ckpt-2.index"]
    assert "epoch 2/2" in done.stderr  # the per-epoch summary line


@pytest.mark.slow
def test_sigterm_checkpoints_then_resume_finishes(tmp_path, mnist_path):
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    args = ("--data", mnist_path, "--limit", "2048", "--batch-size", "32", "--epochs", 3)
    proc = train_cli(*args, "--out", out, "--events", events, background=True)
    wait_for(events, "epoch", proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"--resume --out {out}" in stderr
    stopped = read_events(events)
    assert stopped[-1] == {**stopped[-1], "event": "done", "stopped": True}
    assert stopped[-2]["event"] == "checkpoint"

    done = train_cli(*args, "--out", out, "--events", events, "--resume")
    assert done.returncode == 0, done.stderr
    log = read_events(events)
    starts = [e for e in log if e["event"] == "start"]
    assert starts[1]["start_epoch"] == stopped[-1]["epochs_done"] + 1
    assert sorted({e["epoch"] for e in log if e["event"] == "epoch"}) == [1, 2, 3]
    assert log[-1]["event"] == "done" and not log[-1]["stopped"]
    assert Image.open(out / "progress.gif").n_frames == 3


@pytest.mark.slow
def test_sigkill_loses_at_most_the_epochs_since_the_checkpoint(tmp_path, mnist_path):
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    args = ("--data", mnist_path, *TINY, "--epochs", 4, "--checkpoint-every", 1, "--out", out)
    proc = train_cli(*args, "--events", events, background=True)
    wait_for(events, "checkpoint", proc)
    proc.kill()
    proc.communicate()
    saved = max(e["epoch"] for e in read_events(events) if e["event"] == "checkpoint")

    done = train_cli(*args, "--events", events, "--resume")
    assert done.returncode == 0, done.stderr
    log = read_events(events)
    assert [e for e in log if e["event"] == "start"][-1]["start_epoch"] == saved + 1
    assert log[-1]["event"] == "done" and log[-1]["epochs_done"] == 4


@pytest.mark.slow
def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path, mnist_path):
    out = tmp_path / "run"
    assert train_cli("--data", mnist_path, *TINY, "--epochs", 1, "--out", out).returncode == 0
    again = train_cli("--data", mnist_path, *TINY, "--epochs", 1, "--out", out)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    nothing = train_cli("--resume", "--out", tmp_path / "empty")
    assert nothing.returncode == 2 and "no run to resume" in nothing.stderr


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--beta-1", "1.5"], "--beta-1 in [0, 1)"),
        (["--label-smoothing", "-1"], "--label-smoothing must be in [0, 1)"),
        (["--keep-checkpoints", "0"], "--keep-checkpoints must be at least 1"),
        (["--epochs", "5", "--lr-decay-epochs", "6"], "--lr-decay-epochs must be in [0, --epochs]"),
        (["--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_flags_are_one_line_and_status_2(tmp_path, capsys, flags, message):
    from training.cli import main

    try:
        status = main([*flags, "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse's own checks exit from parse_args
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("dcgan-train: error: ") and message in err, err
    assert err.count("\n") == 1  # no usage block
    assert list(tmp_path.iterdir()) == []


def test_make_config_validates_and_keeps_conditional_on_resume():
    from training.cli import build_parser, make_config
    from training.config import TrainConfig

    parser = build_parser()
    config = make_config(parser.parse_args(["--epochs", "3", "--ema-decay", "0.99"]), None)
    assert (config.epochs, config.ema_decay, config.batch_size) == (3, 0.99, 256)
    resumed = make_config(parser.parse_args(["--epochs", "9"]), config)
    assert (resumed.epochs, resumed.ema_decay) == (9, 0.99)  # the saved run's, but for the flag
    with pytest.raises(ValueError, match="--conditional cannot change on --resume"):
        make_config(parser.parse_args(["--conditional"]), config)
    with pytest.raises(ValueError, match="--eval-every must be 0"):
        TrainConfig(eval_every=-1).validate()


def test_learning_rate_falls_linearly_over_the_last_epochs():
    from training.config import TrainConfig

    config = TrainConfig(epochs=6, learning_rate=1.0, lr_decay_epochs=3)
    rates = [config.learning_rate_at(epoch) for epoch in range(1, 7)]
    assert rates == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])
    assert {TrainConfig(epochs=6).learning_rate_at(e) for e in range(1, 7)} == {1e-4}  # off


def test_top_k_share_shrinks_one_percent_an_epoch_to_its_floor():
    from training.config import TrainConfig

    config = TrainConfig(top_k=0.98)
    assert [config.top_k_at(e) for e in (1, 2, 3, 4, 50)] == pytest.approx(
        [1, 0.99, 0.9801, 0.98, 0.98]
    )
    assert {TrainConfig().top_k_at(e) for e in (1, 10, 100)} == {1.0}  # off
    with pytest.raises(ValueError, match="--top-k must be in"):
        TrainConfig(top_k=0).validate()


MIRRORED = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from training.config import TrainConfig
from training.gan import GAN
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
gan = GAN(TrainConfig(batch_size=16), strategy)
images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
labels = np.zeros(16, "int32")
ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
batch = next(iter(strategy.experimental_distribute_dataset(ds)))
assert len(batch[0].values) == 2, batch
g, d = gan.train_step(*batch)
assert np.isfinite(g) and np.isfinite(d), (g, d)
print("replicas", strategy.num_replicas_in_sync, "losses", g, d)
"""


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus_runs_a_step():
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_TF},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replicas 2" in done.stdout


@pytest.mark.slow
def test_ema_resumes_exactly(tmp_path, mnist_path):
    """Two epochs in one go, or one epoch and a resume: the same EMA (and generator) weights,
    and the resumed epoch at its decayed learning rate and top-k share."""
    from training.config import TrainConfig
    from training.data import load_mnist
    from training.train import train_and_evaluate

    mnist = load_mnist(mnist_path)
    config = TrainConfig(
        epochs=2,
        limit=256,
        batch_size=64,
        ema_decay=0.99,
        checkpoint_every=1,
        lr_decay_epochs=1,
        top_k=0.5,
    )
    whole, _ = train_and_evaluate(config, tmp_path / "whole", mnist)
    # epoch 1 as in the whole run (a 1-epoch run would decay it); then the resume decays epoch 2
    train_and_evaluate(config.replace(epochs=1, lr_decay_epochs=0), tmp_path / "split", mnist)
    resumed, result = train_and_evaluate(config, tmp_path / "split", mnist, resume=True)
    assert result.epochs_done == 2
    for gan in (whole, resumed):
        assert float(gan.g_opt.learning_rate) == pytest.approx(config.learning_rate / 2)
        assert float(gan.top_k) == pytest.approx(0.99)
    names = [sorted(p.name for p in (tmp_path / run / "checkpoints").glob("*.index"))
             for run in ("whole", "split")]  # fmt: skip
    assert names == [["ckpt-1.index", "ckpt-2.index"]] * 2  # a resume numbers on, overwrites none
    for name in ("ema_generator", "generator"):
        for a, b in zip(getattr(whole, name).get_weights(), getattr(resumed, name).get_weights()):
            np.testing.assert_array_equal(a, b)
    ema, live = whole.ema_generator.get_weights(), whole.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(ema, live))


def start_worker(index: int, cluster: dict, tmp: Path, *args) -> subprocess.Popen:
    """`python -m training ARGS` as worker `index` of `cluster`, its temporary files in tmp."""
    tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
    env = {**os.environ, **QUIET_TF, "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "training", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_train_in_step_and_only_the_chief_writes(tmp_path, mnist_path):
    out, models, events = tmp_path / "run", tmp_path / "models" / "digits", tmp_path / "ev.jsonl"
    cluster = {"worker": [f"127.0.0.1:{free_port()}" for _ in range(2)]}
    common = ("--data", mnist_path, "--limit", 256, "--batch-size", 64, "--epochs", 1)
    common += ("--out", out, "--export", models)
    temps = [tmp_path / "tmp0", tmp_path / "tmp1"]
    for folder in temps:
        folder.mkdir()
    chief = start_worker(0, cluster, temps[0], *common, "--events", events)
    other = start_worker(1, cluster, temps[1], *common, "--events", "-")
    try:
        chief_out, chief_err = chief.communicate(timeout=150)
        other_out, other_err = other.communicate(timeout=30)
    finally:
        for proc in (chief, other):
            proc.kill()
    assert chief.returncode == 0, chief_err[-3000:]
    assert other.returncode == 0, other_err[-3000:]
    chief_log = read_events(events)
    other_log = [json.loads(line) for line in other_out.splitlines() if line.startswith("{")]
    assert [e["event"] for e in chief_log if e["event"] != "progress"] == [
        "start", "epoch", "checkpoint", "export", "done"
    ]  # fmt: skip
    assert "export" not in {e["event"] for e in other_log}
    assert chief_log[0]["replicas"] == 2
    # The losses are reduced over both workers' replicas: each reports the same numbers.
    epochs = [next(e for e in log if e["event"] == "epoch") for log in (chief_log, other_log)]
    for key in ("g_loss", "d_loss"):
        assert epochs[0][key] == pytest.approx(epochs[1][key], rel=1e-6), key
    assert epochs[1]["sample"] is None and Path(epochs[0]["sample"]).exists()
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == ["1"]
    assert [p.name for p in (out / "checkpoints").glob("*.index")] == ["ckpt-1.index"]
    assert list(temps[1].iterdir()) == []  # the other worker's checkpoint folder is gone


@pytest.mark.slow
def test_a_staged_run_killed_in_its_second_stage_resumes_there(tmp_path, mnist_path):
    """quality at 4 epochs: stages grow (1-2) and settle (3-4); kill -9 during epoch 4."""
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    args = ("--data", mnist_path, "--recipe", "quality", "--epochs", 4, "--limit", 512)
    args += ("--mixed-precision", "float32", "--out", out, "--events", events)
    proc = train_cli(*args, background=True)
    deadline = time.monotonic() + 300
    while not any(e.get("epoch") == 3 for e in read_events(events) if e["event"] == "checkpoint"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    proc.kill()
    proc.communicate()

    done = train_cli(*args, "--resume")
    assert done.returncode == 0, done.stderr
    log = read_events(events)
    starts = [e for e in log if e["event"] == "start"]
    assert [(e["stage"], e["start_epoch"]) for e in starts] == [
        ("grow", 1),
        ("settle", 3),
        ("settle", 4),  # the resumed run: only epoch 4 is trained again
    ]
    assert starts[-1]["config"]["ema_decay"] == 0.999  # the whole run's, stages inside
    epochs = [e for e in log if e["event"] == "epoch"]
    assert [(e["epoch"], e["stage"]) for e in epochs] == [
        (1, "grow"),
        (2, "grow"),
        (3, "settle"),
        (4, "settle"),
    ]
    # what the run cost counts each epoch once, across the kill
    assert [e["images_seen"] for e in epochs] == [512, 1024, 1536, 2048]
    assert epochs[-1]["train_seconds"] > epochs[-2]["train_seconds"] > 0
    assert log[-1]["event"] == "done" and log[-1]["epochs_done"] == 4


@pytest.mark.slow
def test_an_export_records_its_recipe_cost_and_quality_curve(tmp_path, mnist_path):
    out, models = tmp_path / "run", tmp_path / "models"
    flags = ("--recipe", "quick", "--epochs", 2, "--limit", 256, "--eval-every", 1)
    flags += ("--mixed-precision", "float32", "--classifier", ROOT / "models" / "mnist-classifier")
    done = train_cli("--data", mnist_path, *flags, "--out", out, "--export", models / "q")
    assert done.returncode == 0, done.stderr
    info = json.loads((models / "q" / "1" / "model.json").read_text())
    assert info["training"]["recipe"] == "quick" and info["images_seen"] == 512
    assert info["train_seconds"] > 0
    assert [(p["epoch"], p["images_seen"]) for p in info["curve"]] == [(1, 256), (2, 512)]
    assert info["curve"][-1]["fid_mnist"] == info["metrics"]["fid_mnist"]
