import asyncio
import os
import signal
import sys

from app.jobs.paths import JobPaths
from app.jobs.schema import JobParams
from app.jobs.trainer import (
    end_trainer,
    exit_reason,
    explain,
    lock,
    read_new_lines,
    start_trainer,
    trainer_command,
)
from training.cli import build_parser


def test_every_job_parameter_is_a_training_cli_flag(tmp_path):
    params = JobParams(
        name="mine",
        recipe="quick",
        epochs=3,
        batch_size=64,
        learning_rate=2e-4,
        beta_1=0.5,
        label_smoothing=0.1,
        ema_decay=0.99,
        conditional=True,
        mixed_precision="bfloat16",
        seed=7,
        limit=512,
        eval_every=2,
        checkpoint_every=2,
        lr_decay_epochs=1,
        top_k=0.5,
        r1_gamma=0.2,
        r1_every=4,
    )
    paths = JobPaths(tmp_path)
    command = trainer_command(params, paths, tmp_path / "models")
    assert command[1:3] == ["-m", "training"]
    args = build_parser().parse_args(command[3:])  # the real parser: an unknown flag exits
    fields = params.model_dump(exclude={"name", "activate"})
    assert None not in fields.values()  # every field given, so every one is checked
    for key, value in fields.items():
        assert getattr(args, key) == value, key
    assert not args.resume and args.nice == 10 and args.stop_with_parent == os.getpid()
    assert str(args.export) == str((tmp_path / "models" / "mine").resolve())
    assert args.out == paths.run and str(args.classifier).endswith("models/mnist-classifier")

    paths.checkpoints.mkdir(parents=True)
    (paths.checkpoints / "checkpoint").write_text("")
    assert build_parser().parse_args(trainer_command(params, paths, tmp_path)[3:]).resume


def test_only_complete_event_lines_are_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "start"}\n{"event": "epo')
    offset, events = read_new_lines(path, 0)
    assert events == [{"event": "start"}] and offset == len('{"event": "start"}\n')
    with open(path, "a") as f:
        f.write('ch", "epoch": 1}\n')
    offset, events = read_new_lines(path, offset)
    assert events == [{"event": "epoch", "epoch": 1}]
    assert read_new_lines(tmp_path / "missing.jsonl", 0) == (0, [])


def test_exit_reason_says_why_in_one_line(tmp_path):
    log = tmp_path / "stderr.log"
    log.write_text(
        "W0000 00:00:1 cuda_platform.cc:52] failed call to cuInit\n"
        "Traceback (most recent call last):\n  File x\nMemoryError: out of memory\n\n"
        "I0000 00:00:1 port.cc:153] oneDNN custom operations are on\n"
    )
    assert exit_reason(-signal.SIGKILL, log, []).startswith("trainer killed by SIGKILL (the out")
    assert exit_reason(1, log, []) == "trainer exited with status 1: MemoryError: out of memory"
    events = [{"event": "error", "message": "DataError: no such file"}]
    assert exit_reason(2, log, events) == "trainer exited with status 2: DataError: no such file"
    log.write_text("")
    assert exit_reason(2, log, []) == "trainer exited with status 2: no output"


def test_one_folder_one_lock(tmp_path):
    paths = JobPaths(tmp_path / "job")
    fd = lock(paths)
    assert fd is not None and lock(paths) is None
    os.close(fd)
    again = lock(paths)
    assert again is not None
    os.close(again)


def test_a_full_disk_is_the_first_thing_the_reason_says(tmp_path):
    log = tmp_path / "stderr.log"
    log.write_text("OSError: [Errno 28] No space left on device: 'models/x/.tmp-export-7'\n")
    assert exit_reason(1, log, []) == (
        "trainer exited with status 1: the disk is full (OSError: [Errno 28] No space left on "
        "device: 'models/x/.tmp-export-7')"
    )
    events = [{"event": "error", "message": "OSError: [Errno 28] No space left on device"}]
    assert "status 1: the disk is full (OSError" in exit_reason(1, log, events)
    assert explain("the job database's disk is full (x)") == "the job database's disk is full (x)"


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_trainer_inherits_no_tf_config(tmp_path, monkeypatch):
    """A worker pod's TF_CONFIG would make every trainer wait for peers that never come."""
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:1"]}}')
    monkeypatch.setenv("DCGAN_KEPT", "yes")
    paths = JobPaths(tmp_path / "job")
    fd = lock(paths)
    show = "import os, sys; sys.stderr.write(repr([os.environ.get(k) for k in sys.argv[1:]]))"
    command = [sys.executable, "-c", show, "TF_CONFIG", "DCGAN_KEPT", "MNIST_PATH"]

    async def started():
        proc = await start_trainer(command, paths, tmp_path / "mnist.npz", fd)
        return await proc.wait()

    try:
        assert run(started()) == 0
    finally:
        os.close(fd)
    assert paths.stderr.read_text() == repr([None, "yes", str(tmp_path / "mnist.npz")])


SLEEPER = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(3)); "


def test_end_trainer_sigterms_then_kills_a_trainer_that_does_not_exit(tmp_path):
    async def ended(stopped: bool) -> int:
        script = SLEEPER + "print('ready', flush=True); time.sleep(60)"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
        )
        assert await proc.stdout.readline() == b"ready\n"
        if stopped:
            os.kill(proc.pid, signal.SIGSTOP)  # hung: it cannot act on SIGTERM
        await end_trainer(proc, grace=1)
        return proc.returncode

    assert run(ended(stopped=False)) == 3  # it caught SIGTERM and exited by itself
    assert run(ended(stopped=True)) == -signal.SIGKILL
