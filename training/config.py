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
    mixed_precision: str = "float32"  # or "bfloat16"; "auto" becomes one of them (resolved())
    limit: int | None = None
    checkpoint_every: int = 15
    keep_checkpoints: int = 3  # the latest N; more lets training.average mean late epochs
    eval_every: int = 0  # 0: no quality evaluation during training
    noise_dim: int = NOISE_DIM
    recipe: str | None = None  # the training.recipes name this run started from, for the record
    # Changes from given epochs on: ({"name": ..., "from_epoch": E, field: value, ...}, ...);
    # the first stage starts at epoch 1. Empty: one stage, the fields above throughout.
    stages: tuple[dict, ...] = ()
    prior: bool = False  # at the end, fit a noise prior to the generator (training.prior)
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
        if self.prior and self.conditional:
            raise ValueError("a conditional model draws the digit asked for: it takes no prior")
        if self.r1_every < 1:
            raise ValueError("--r1-every must be at least 1")
        self._validate_stages()

    def _validate_stages(self) -> None:
        starts = [stage.get("from_epoch", 0) for stage in self.stages]
        if self.stages and starts[0] != 1:
            raise ValueError("a recipe's first stage starts at epoch 1")
        if starts != sorted(set(starts)):
            raise ValueError("a recipe's stages start at increasing epochs")
        for stage in self.stages:
            unknown = set(stage) - STAGE_FIELDS - {"name", "from_epoch"}
            if unknown:
                raise ValueError(f"a stage cannot change {', '.join(sorted(unknown))}")
            self.replace(**_changes(stage), stages=()).validate()

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

    def resolved(self) -> TrainConfig:
        """`mixed_precision="auto"` made concrete: bfloat16 where the CPU multiplies it natively
        (AMX or AVX512-BF16: the step is faster there), else float32."""
        if self.mixed_precision != "auto":
            return self
        return self.replace(mixed_precision="bfloat16" if native_bfloat16() else "float32")

    def segments(self) -> list[Segment]:
        """The run's stages as epoch ranges (stages starting after the last epoch dropped)."""
        stages = [s for s in self.stages if s["from_epoch"] <= self.epochs] or [{"from_epoch": 1}]
        ends = [s["from_epoch"] - 1 for s in stages[1:]] + [self.epochs]
        return [
            Segment(i, s.get("name", "train"), s["from_epoch"], end)
            for i, (s, end) in enumerate(zip(stages, ends))
        ]

    def at(self, epoch: int) -> TrainConfig:
        """The fields in force in epoch `epoch` (1-based): every stage begun by then applied."""
        changes: dict = {}
        for stage in self.stages:
            if stage["from_epoch"] <= epoch:
                changes |= _changes(stage)
        return self.replace(**changes)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON's view: the stages as a list, as they read back from model.json."""
        return dataclasses.asdict(self) | {"stages": [dict(s) for s in self.stages]}

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["stages"] = tuple(values.get("stages", ()))
        return cls(**values)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        return cls.from_dict(json.loads(path.read_text()))


@dataclasses.dataclass(frozen=True)
class Segment:
    """One stage of a run: its position, name and epochs `first`..`last` (1-based, inclusive)."""

    index: int
    name: str
    first: int
    last: int


# What a stage may change: the step's settings. Not the data, the networks or the run's length.
STAGE_FIELDS = frozenset(
    {"batch_size", "learning_rate", "beta_1", "label_smoothing", "ema_decay", "top_k", "r1_gamma"}
    | {"r1_every"}
)


def native_bfloat16() -> bool:
    """Whether this CPU has AMX-BF16 or AVX512-BF16 (Linux's /proc/cpuinfo flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _changes(stage: dict) -> dict:
    return {k: v for k, v in stage.items() if k not in ("name", "from_epoch")}
