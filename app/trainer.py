"""The trainer process of a job: its command line, its start at low priority, and its output."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

STDERR_TAIL = 12
PASSED_AS_FLAGS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "beta_1",
    "label_smoothing",
    "seed",
    "mixed_precision",
    "eval_every",
)


def trainer_command(params: dict, folder: Path, models_dir: Path) -> list[str]:
    """`python -m training` for a job's parameters, resuming when the run has a checkpoint."""
    models = models_dir.resolve()
    command = [
        sys.executable, "-m", "training", "--out", str(folder / "run"),
        "--events", str(folder / "events.jsonl"), "--export", str(models / params["name"]),
        "--classifier", str(models / "mnist-classifier"),
    ]  # fmt: skip
    for key in PASSED_AS_FLAGS:  # the CLI's flag for `batch_size` is --batch-size
        command += [f"--{key.replace('_', '-')}", str(params[key])]
    command += ["--conditional"] if params["conditional"] else []
    command += ["--limit", str(params["limit"])] if params.get("limit") else []
    if (folder / "run" / "checkpoints" / "checkpoint").exists():
        command.append("--resume")
    return command


async def start_trainer(
    command: list[str], folder: Path, mnist_path: Path | None
) -> asyncio.subprocess.Process:
    """Start the trainer in `folder`, its stderr appended to stderr.log there."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if mnist_path:
        env["MNIST_PATH"] = str(mnist_path.resolve())
    with open(folder / "stderr.log", "ab") as stderr:
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=folder,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            preexec_fn=_lower_priority_and_die_with_parent,
        )


def _lower_priority_and_die_with_parent() -> None:
    """In the child: yield the CPU to /generate, and get SIGTERM (so it checkpoints) if the
    service dies."""
    os.nice(10)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def exited_within(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
        return True
    except TimeoutError:
        return False


def read_new_lines(path: Path, offset: int) -> tuple[int, list[dict]]:
    """Complete JSON lines written after `offset`; a half-written last line waits."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    events = []
    for line in complete.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            events.append(json.loads(line))
    return offset + len(complete), events


def exit_reason(status: int, stderr_log: Path) -> str:
    """'killed by SIGKILL: <last stderr lines>' or 'exited with status 1: ...'."""
    reason = (
        f"killed by {signal.Signals(-status).name}"
        if status < 0
        else f"exited with status {status}"
    )
    lines = [line for line in stderr_log.read_text(errors="replace").splitlines() if line.strip()]
    return f"{reason}: {' | '.join(lines[-STDERR_TAIL:]) or 'no output'}"
