"""How the job runner outlasts faults: calls tried again while the database or the disk fails,
and a loop started again when it dies anyway. Both say what is wrong meanwhile (for /readyz)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from app.jobs.store import StoreUnavailable
from app.jobs.trainer import explain

log = logging.getLogger("app")
TROUBLE = (StoreUnavailable, OSError)  # the database's or the disk's state: worth trying again
RETRY_SECONDS = (0.5, 8.0)  # the first and the longest pause before a failed call is tried again
RESTART_SECONDS = (1.0, 30.0)  # ... before a dead loop is started again
STEADY_SECONDS = 60.0  # a loop that ran this long before dying starts again after the first pause


class Retrying:
    """Awaits calls, each tried again after a growing pause for as long as it fails with
    TROUBLE; the last failure is kept until a call succeeds."""

    def __init__(self, who: str):
        self.who = who
        self.trouble: str | None = None
        self.giving_up = False  # stopping: a failure is raised, not tried again

    async def __call__(self, call: Callable[..., Awaitable], *args, **kwargs):
        pause = RETRY_SECONDS[0]
        while True:
            try:
                result = await call(*args, **kwargs)
            except TROUBLE as exc:
                if self.giving_up:
                    raise
                self.trouble = explain(str(exc))
                log.warning("%s: %s; trying again in %g s", self.who, exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_SECONDS[1])
            else:
                self.trouble = None
                return result


class Supervisor:
    """Runs `loop()` in a task, and again after a growing pause each time it dies, counting the
    restarts; with `restart` off a death ends the task (a worker process then exits). The loop
    calls `settled()` once it is past what killed it, so readiness does not flap meanwhile."""

    def __init__(self, loop: Callable[[], Awaitable[None]], who: str, restart: bool = True):
        self.loop, self.who, self.restart = loop, who, restart
        self.restarts = 0
        self.task: asyncio.Task | None = None
        self.dead: str | None = None  # why the loop is not running, until it runs again
        self.stopping = False

    def start(self) -> None:
        self.task = asyncio.create_task(self._supervise(), name=self.who)

    def settled(self) -> None:
        self.dead = None

    def problem(self) -> str | None:
        if self.dead:
            return self.dead
        if self.task is None or self.task.done():
            return f"the {self.who} is not running"
        return None

    async def _supervise(self) -> None:
        pause = RESTART_SECONDS[0]
        while True:
            started = time.monotonic()
            try:
                return await self.loop()
            except Exception as exc:
                self.dead = f"the {self.who} stopped: {type(exc).__name__}: {exc}"
                if not self.restart or self.stopping:
                    log.exception("the %s died", self.who)
                    raise
                if time.monotonic() - started > STEADY_SECONDS:
                    pause = RESTART_SECONDS[0]
                log.exception("the %s died; starting it again in %g s", self.who, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_SECONDS[1])
            self.restarts += 1
