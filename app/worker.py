"""`dcgan-worker`: runs training jobs from the shared job store, for API replicas started with
DCGAN_RUN_JOBS=off. Start as many as there are machines to train on: each claims one queued job
at a time, and a job is never claimed twice. A worker whose job loop dies exits with status 1,
so that compose or Kubernetes starts it again."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from app.config import Settings, read_settings
from app.jobs.store import StoreUnavailable
from app.logs import log_handler
from app.parts import job_runner, job_service, model_registry

log = logging.getLogger("app")
ALIVE_SECONDS = 10.0


async def run(settings: Settings, name: str) -> int:
    """Claim and run jobs until SIGTERM or SIGINT (0; a running trainer checkpoints first) or
    until the job loop dies (1)."""
    try:
        jobs = job_service(settings)
    except StoreUnavailable as exc:
        log.error("worker %s: %s", name, exc)
        return 1
    registry = model_registry(settings, serving=False)
    await registry.refresh()
    runner = job_runner(jobs, settings, registry, name, serving=False)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    runner.start()
    alive = None  # for an exec liveness probe (deploy/k8s/worker.yaml)
    if settings.alive_file is not None:
        alive = asyncio.create_task(touch_every(settings.alive_file, ALIVE_SECONDS))
    log.info(
        "worker %s: taking jobs from %s", name, "PostgreSQL" if settings.database_url else "SQLite"
    )
    stopped = asyncio.create_task(stop.wait())
    running = {stopped} | ({runner.task} if runner.task else set())
    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    status = 0 if stop.is_set() else 1
    if status:
        log.error("worker %s: exiting, as %s", name, runner.problem())
    else:
        log.info("worker %s: stopping", name)
    stopped.cancel()
    if alive is not None:
        alive.cancel()
    await runner.stop()
    jobs.store.close()
    return status


async def touch_every(path: Path, seconds: float) -> None:
    """Touch `path` every `seconds` while the event loop runs (a stalled loop stops it)."""
    while True:
        path.touch()
        await asyncio.sleep(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dcgan-worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--name",
        default=f"{socket.gethostname()}/worker-{os.getpid()}",
        help="how jobs record this worker (default: HOST/worker-PID)",
    )
    args = parser.parse_args(argv)
    settings = read_settings("dcgan-worker")
    handler = log_handler(settings.log_format, "%(levelname)s: %(message)s")
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    return asyncio.run(run(settings, args.name))


if __name__ == "__main__":
    sys.exit(main())
