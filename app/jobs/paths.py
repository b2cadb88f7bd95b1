"""A job's folder, and inside it the training CLI's documented --out layout (README, Training):
checkpoints/ (with TensorFlow's `checkpoint` index), samples/epoch_NNNN.png, progress.gif."""

from __future__ import annotations

import dataclasses
from pathlib import Path

JOBS_FOLDER = "jobs"  # DATA_DIR/jobs/<id>


@dataclasses.dataclass(frozen=True)
class JobPaths:
    root: Path  # DATA_DIR/jobs/<id>

    @classmethod
    def of(cls, data_dir: Path, job_id: int) -> JobPaths:
        return cls(data_dir / JOBS_FOLDER / str(job_id))

    @staticmethod
    def move_all_aside(data_dir: Path, suffix: str) -> Path | None:
        """Every job's folder moved to DATA_DIR/jobs<suffix>: where they went (None: none)."""
        folders = data_dir / JOBS_FOLDER
        if not folders.exists():
            return None
        moved = folders.with_name(JOBS_FOLDER + suffix)
        folders.rename(moved)
        return moved

    @property
    def run(self) -> Path:
        """The trainer's --out."""
        return self.root / "run"

    @property
    def events(self) -> Path:
        """The trainer's --events (JSON lines)."""
        return self.root / "events.jsonl"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr.log"

    @property
    def lock(self) -> Path:
        """Held (flock) by whoever runs the trainer, for as long as the trainer lives."""
        return self.root / "trainer.lock"

    @property
    def checkpoints(self) -> Path:
        return self.run / "checkpoints"

    def has_checkpoint(self) -> bool:
        return (self.checkpoints / "checkpoint").exists()

    def sample(self, epoch: int) -> Path:
        return self.run / "samples" / f"epoch_{epoch:04d}.png"

    def samples(self) -> list[Path]:
        return sorted((self.run / "samples").glob("epoch_*.png"))
