"""What a run reports: JSON-lines events for machines, a progress bar and log lines for people."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import IO

log = logging.getLogger("training")


class EventWriter:
    """One JSON object per line to a file or stdout ('-'); a no-op when there is no target."""

    def __init__(self, target: str | None):
        self._own = target not in (None, "-")
        if target is not None and self._own:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = (
            sys.stdout if target == "-" else open(target, "a") if target else None  # noqa: SIM115
        )

    def emit(self, event: str, **fields) -> None:
        if self._file is None:
            return
        record = {"event": event, "time": round(time.time(), 3), **fields}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._own and self._file is not None:
            self._file.close()


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None):
        # sys.stderr now, not at import: tests swap it, and a stream bound then may be closed
        self.total, self.label, self.stream = total, label, stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.start = time.monotonic()
        self._last_draw = 0.0

    def update(self, done: int, **values: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last_draw < 0.1 and done < self.total):
            return
        self._last_draw = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        stats = " ".join(f"{k} {v:.3f}" for k, v in values.items())
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{self.total} {stats} eta {eta:4.0f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
