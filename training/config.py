"""The one frozen description of a training run, saved beside every checkpoint and export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

NOISE_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
TOP_K_DECAY = 0.99  # per epoch, the paper's
EXPORT_WEIGHTS = ("float32", "float16")  # how an export may store the generator's weights


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a run. Defaults are the TensorFlow DCGAN tutorial's."""

    epochs: int = 50
    batch_size: int = 256
    learning_rate: float = 1e-4
    beta_1: float = 0.9
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    ema_decay: float = 0.0  # 0: off; else samples, evaluation and export use G's moving average
    lr_decay_epochs: int = 0  # 0: constant; else both rates fall linearly over the last K epochs
    top_k: float = 1.0  # 1: off; else G learns from the best-rated share of fakes, down to this
    r1_gamma: float = 0.0  # 0: off; else D's loss adds gamma/2 |grad_x D(real x)|^2
    seed: int = 0
    conditional: bool = False
    mixed_precision: str = "float32"  # or "bfloat16"
    limit: int | None = None
    checkpoint_every: int = 15
    keep_checkpoints: int = 3  # the latest N; more lets training.average mean late epochs
    eval_every: int = 0  # 0: no quality evaluation during training
    noise_dim: int = NOISE_DIM
    r1_every: int = 1  # lazy R1: the penalty on every Nth step only, times N (StyleGAN2)

    def validate(self) -> None:
        """ValueError naming the first unusable value by its dcgan-train flag."""
        if self.eval_every < 0:
            raise ValueError("--eval-every must be 0 (off) or more")
        for name in ("epochs", "batch_size", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError("--limit must be at least 1")
        if self.learning_rate <= 0 or not 0 <= self.beta_1 < 1:
            raise ValueError("--learning-rate must be > 0 and --beta-1 in [0, 1)")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError("--label-smoothing must be in [0, 1)")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("--ema-decay must be in [0, 1) (0 is off)")
        if not 0 <= self.lr_decay_epochs <= self.epochs:
            raise ValueError("--lr-decay-epochs must be in [0, --epochs] (0 is off)")
        if not 0 < self.top_k <= 1:
            raise ValueError("--top-k must be in (0, 1] (1 is off)")
        if not 0 <= self.r1_gamma <= 1000:
            raise ValueError("--r1-gamma must be in [0, 1000] (0 is off)")
        if self.r1_every < 1:
            raise ValueError("--r1-every must be at least 1")

    def learning_rate_at(self, epoch: int) -> float:
        """Epoch `epoch`'s (1-based) rate: constant, then a linear fall over the last K epochs,
        to 1/(K+1) of the start in the last one (the CycleGAN recipe, in whole epochs)."""
        left = self.epochs - epoch + 1  # epochs left, this one included
        if left > self.lr_decay_epochs:
            return self.learning_rate
        return self.learning_rate * left / (self.lr_decay_epochs + 1)

    def top_k_at(self, epoch: int) -> float:
        """Epoch `epoch`'s (1-based) share of fakes the generator's loss keeps: all at first, 1%
        fewer each epoch, down to `top_k` (Sinha et al., "Top-k Training of GANs", 2020)."""
        return max(self.top_k, TOP_K_DECAY ** (epoch - 1))

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
