"""The one frozen description of a training run, saved beside every checkpoint and export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

NOISE_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a run. Defaults are the TensorFlow DCGAN tutorial's."""

    epochs: int = 50
    batch_size: int = 256
    learning_rate: float = 1e-4
    beta_1: float = 0.9
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    ema_decay: float = 0.0  # 0: off; else samples, evaluation and export use G's moving average
    seed: int = 0
    conditional: bool = False
    mixed_precision: str = "float32"  # or "bfloat16"
    limit: int | None = None
    checkpoint_every: int = 15
    keep_checkpoints: int = 3  # the latest N; more lets training.average mean late epochs
    eval_every: int = 0  # 0: no quality evaluation during training
    noise_dim: int = NOISE_DIM

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        return cls.from_dict(json.loads(path.read_text()))
