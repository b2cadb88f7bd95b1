"""A job's trainer process: its command line, its start, its lock, its events and its exit."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path

from app.jobs.paths import JobPaths
from app.jobs.schema import JobParams
from app.names import CLASSIFIER

log = logging.getLogger("app")
TRAINER_NICE = 10  # yield the CPU to /generate
# Not inherited: a worker pod's TF_CONFIG would make every trainer wait for peers (no job asks
# for multi-worker training today).
NOT_INHERITED = ("TF_CONFIG",)
_DISK_FULL = re.compile(r"No space left on device|\[Errno 28\]")
# TensorFlow's start-up chatter, not a reason for anything.
_NOISE = re.compile(r"^(\s*$|[IWE]\d{4} |WARNING: All log messages|To enable the following)")


def trainer_command(params: JobParams, paths: JobPaths, models_dir: Path) -> list[str]:
    """`python -m training` for a job's parameters, resuming when the run has a checkpoint."""
    models = models_dir.resolve()
    command = [
        sys.executable, "-m", "training", "--out", str(paths.run), "--events", str(paths.events),
        "--export", str(models / params.name), "--classifier", str(models / CLASSIFIER),
        "--nice", str(TRAINER_NICE), "--stop-with-parent", str(os.getpid()),
        *params.trainer_flags(),
    ]  # fmt: skip
    if paths.has_checkpoint():
        command.append("--resume")
    return command


def lock(paths: JobPaths) -> int | None:
    """An fd holding the job folder's lock, or None while another trainer holds it.

    The trainer inherits the fd, so the lock lasts exactly as long as the trainer, even when the
    process that started it dies first: a restarted service cannot start a second trainer on
    the folder while the first still writes to it."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def start_trainer(
    command: list[str], paths: JobPaths, mnist_path: Path | None, lock_fd: int
) -> asyncio.subprocess.Process:
    """Start the trainer in the job folder, its stderr appended to stderr.log there. It sets its
    own priority and stops (checkpointing) when this process dies: no code runs between fork
    and exec here."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if mnist_path:
        env["MNIST_PATH"] = str(mnist_path.resolve())
    with open(paths.stderr, "ab") as stderr:
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=paths.root,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            pass_fds=(lock_fd,),
        )


async def exited_within(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
        return True
    except TimeoutError:
        return False


async def end_trainer(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM (the trainer checkpoints and exits), then SIGKILL if it has not exited `grace`
    seconds later: a hung or stopped (SIGSTOP) trainer."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
        if not await exited_within(proc, grace):
            log.warning("trainer %d still runs %g s after SIGTERM: killing it", proc.pid, grace)
            proc.kill()
    await proc.wait()


def read_new_lines(path: Path, offset: int) -> tuple[int, list[dict]]:
    """Complete JSON lines written after `offset`; a half-written last line waits."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return offset, []
    complete = data[: data.rfind(b"\n") + 1]
    events = []
    for line in complete.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            events.append(json.loads(line))
    return offset + len(complete), events


def exit_reason(status: int, stderr_log: Path, events: list[dict]) -> str:
    """Why a trainer failed, in one line: the signal (SIGKILL: likely the out-of-memory
    killer), else its own error event or the last line of its traceback."""
    if status < 0:
        name = signal.Signals(-status).name
        hint = " (the out-of-memory killer, or kill -9)" if name == "SIGKILL" else ""
        return f"trainer killed by {name}{hint}"
    errors = [e["message"] for e in events if e.get("event") == "error" and e.get("message")]
    if errors:
        return f"trainer exited with status {status}: {explain(errors[-1])}"
    try:
        text = stderr_log.read_text(errors="replace")
    except FileNotFoundError:
        text = ""
    lines = [line.strip() for line in text.splitlines() if not _NOISE.match(line)]
    return f"trainer exited with status {status}: {explain(lines[-1]) if lines else 'no output'}"


def explain(error: str) -> str:
    """An error as an operator should read it first: a full disk says so."""
    if _DISK_FULL.search(error) and "disk is full" not in error:
        return f"the disk is full ({error})"
    return error
