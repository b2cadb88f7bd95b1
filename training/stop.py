"""A clean stop on SIGINT/SIGTERM: the run finishes its step, checkpoints and exits."""

from __future__ import annotations

import logging
import signal

log = logging.getLogger("training")


class StopFlag:
    """SIGINT/SIGTERM ask for a clean stop at the next step; a second SIGINT stops at once.

    Use as a context manager: the previous handlers come back on exit.
    """

    def __init__(self):
        self.requested = False
        self._previous: dict = {}

    def __enter__(self) -> StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("%s received: stopping after this step", signal.Signals(signum).name)
