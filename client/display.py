"""Text for a terminal: job event lines, a carriage-return progress bar, and tables."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from client.api import JobEvent

BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """A short duration: 42s, 3m05s, 1h02m."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def metrics_text(metrics: dict) -> str:
    """The scalar quality numbers of an evaluation, e.g. `fid_mnist 36.4  confidence 0.93`."""
    skip = ("samples", "fid_mnist_floor")
    return "  ".join(
        f"{k} {v:g}" for k, v in metrics.items() if isinstance(v, int | float) and k not in skip
    )


def event_line(job_id: int, event: JobEvent) -> str | None:
    """The line an event prints, or None for those only the bar shows (progress, checkpoint)."""
    data = event.data
    if event.kind == "state":
        state = data.get("state")
        if state == "succeeded":
            active = "active" if data.get("active") else "not active"
            return f"job {job_id}: succeeded: {data.get('model_version')} ({active})"
        error = f": {data['error']}" if data.get("error") else ""
        return f"job {job_id}: {state}{error}"
    if event.kind == "cancelling":
        return f"job {job_id}: cancelling (the trainer checkpoints, then stops)"
    if event.kind == "start":
        return (
            f"job {job_id}: training epochs {data.get('start_epoch')}..{data.get('epochs')}, "
            f"{data.get('train_images')} images, {data.get('steps_per_epoch')} steps/epoch"
        )
    if event.kind == "epoch":
        parts = [
            f"epoch {data.get('epoch')}/{data.get('epochs')}",
            f"g_loss {data.get('g_loss', float('nan')):.4f}",
            f"d_loss {data.get('d_loss', float('nan')):.4f}",
            f"{data.get('seconds', 0):.1f}s",
            f"{data.get('images_per_sec', 0):.0f} images/s",
            f"ETA {duration(data.get('eta_seconds') or 0)}",
        ]
        if data.get("metrics"):
            parts.append(metrics_text(data["metrics"]))
        return "  ".join(parts)
    if event.kind == "error":
        return f"job {job_id}: trainer error: {data.get('message')}"
    return None


class FollowView:
    """Prints a job's event lines to `out` and redraws a progress bar on `bar` (if any)."""

    def __init__(self, job_id: int, out: TextIO, bar: TextIO | None = None):
        self.job_id, self.out, self.bar = job_id, out, bar
        self.state: str | None = None
        self.epochs, self.done, self.step, self.steps = 0, 0.0, 0, 0
        self.eta: float | None = None
        self._drawn = 0

    def show(self, event: JobEvent) -> None:
        """Print the event's line (if any) above the bar, then redraw the bar."""
        self._track(event)
        line = event_line(self.job_id, event)
        if line:
            self._clear()
            print(line, file=self.out, flush=True)
        if self.state == "running" and self.epochs:
            self._draw()

    def close(self) -> None:
        """Erase the bar."""
        self._clear()

    def _track(self, event: JobEvent) -> None:
        data = event.data
        if event.kind == "state":
            self.state = data.get("state")
        if event.kind not in ("start", "progress", "epoch"):
            return
        self.epochs = data.get("epochs") or self.epochs
        if event.kind == "start":
            self.done, self.step = data.get("start_epoch", 1) - 1, 0
            self.steps = data.get("steps_per_epoch") or 0
        elif event.kind == "progress":
            self.step, self.steps = data.get("step", 0), data.get("steps") or self.steps
            self.done = data.get("epoch", 1) - 1 + (self.step / self.steps if self.steps else 0)
        else:
            self.done, self.step, self.eta = data.get("epoch", 0), 0, data.get("eta_seconds")

    def _draw(self) -> None:
        if self.bar is None:
            return
        fraction = min(max(self.done / self.epochs, 0.0), 1.0)
        filled = int(fraction * BAR_WIDTH)
        epoch = min(int(self.done) + 1, self.epochs)
        text = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {fraction:4.0%}  "
        text += f"epoch {epoch}/{self.epochs}"
        if self.step and self.steps:
            text += f"  step {self.step}/{self.steps}"
        if self.eta is not None:
            text += f"  ETA {duration(self.eta)}"
        self._clear()
        self.bar.write(text)
        self.bar.flush()
        self._drawn = len(text)

    def _clear(self) -> None:
        if self.bar is not None and self._drawn:
            self.bar.write("\r" + " " * self._drawn + "\r")
            self.bar.flush()
            self._drawn = 0


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as left-aligned columns."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def models_table(listing: dict) -> str:
    """GET /models as a table: name, active version, status, conditional, versions, FID."""
    rows: list[list[object]] = [["MODEL", "ACTIVE", "STATUS", "CONDITIONAL", "VERSIONS", "FID"]]
    for m in listing.get("models", []):
        versions = {v["version"]: v for v in m.get("versions", [])}
        active = versions.get(m.get("active_version")) or {}
        fid = ((active.get("model_json") or {}).get("metrics") or {}).get("fid_mnist")
        listed = " ".join(
            f"{n}" if v.get("status") == "ready" else f"{n}({v.get('status')})"
            for n, v in versions.items()
        )
        name = m["name"] + (" (default)" if m.get("default") else "")
        conditional = {True: "yes", False: "no"}.get(m.get("conditional"), "-")
        active_version = m.get("active_version")
        rows.append([name, active_version or "-", m.get("status"), conditional, listed, fid or "-"])
    return table(rows)


def epoch_text(job: dict) -> str:
    """`3/50`: the last finished epoch of the run's epochs; `-` before the first."""
    progress = job.get("progress") or {}
    epoch, epochs = progress.get("epoch"), progress.get("epochs") or job["params"].get("epochs")
    if epoch is None:
        return "-"
    return f"{epoch}/{epochs}" if epochs else str(epoch)


def jobs_table(page: dict) -> str:
    """GET /jobs as a table: id, state, name, epoch, model version, created."""
    rows: list[list[object]] = [["ID", "STATE", "NAME", "EPOCH", "MODEL", "CREATED"]]
    for job in page.get("jobs", []):
        epoch = epoch_text(job)
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job["created_at"]))
        name = job["params"].get("name")
        rows.append(
            [job["id"], job["state"], name, epoch, job.get("model_version") or "-", created]
        )
    text = table(rows)
    shown, total = len(page.get("jobs", [])), page.get("total", 0)
    if shown < total:
        text += f"\n({shown} of {total} jobs from offset {page.get('offset', 0)}; see --offset)"
    return text
