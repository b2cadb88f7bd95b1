"""Named training recipes: the tutorial's settings, a quick look, and the project's best.

A recipe is a TrainConfig's starting values, one set for unconditional and one for conditional
runs; fields given explicitly (a CLI flag, a job field) override them for the whole run. Why
each value is what it is: docs/quality.md, "Recipes".
"""

from __future__ import annotations

from typing import Any

from training.config import TrainConfig

DEFAULT = "tutorial"  # dcgan-train stays the tutorial unless asked otherwise

# The DCGAN paper's Adam settings with one-sided label smoothing, an EMA of the generator and
# small batches (four times the updates an epoch). quality adds the R1 penalty from the first
# step; quick does without it (as sure digits after 3 epochs, and R1's second-order gradient makes
# each step dearer: docs/quality.md, 'An R1 penalty on the discriminator').
_FAST = dict(
    batch_size=64,
    learning_rate=2e-4,
    beta_1=0.5,
    label_smoothing=0.1,
    ema_decay=0.999,
    mixed_precision="auto",
    checkpoint_every=1,
)
_BEST = _FAST | dict(r1_gamma=0.1)

RECIPES: dict[str, dict] = {
    "tutorial": {
        "description": "the TensorFlow DCGAN tutorial's settings exactly (50 epochs, batch 256, "
        "Adam 1e-4); slow, and its digits stay rough",
        "unconditional": {},
        "conditional": {},
    },
    "quick": {
        "description": "recognisable digits in a few minutes: 3 epochs of the quality settings "
        "without R1",
        "unconditional": _FAST | dict(epochs=3, eval_every=3),
        "conditional": _FAST | dict(epochs=3, eval_every=3),
    },
    "quality": {
        "description": "the project's best: 60 epochs (20 conditional) of small batches with R1 "
        "and an EMA, the rate falling over the second half, then (unconditional) a noise prior "
        "fitted to the generator",
        "unconditional": _BEST
        | dict(
            epochs=60,
            eval_every=5,
            lr_decay_epochs=30,
            stages=(
                {"name": "grow", "from_epoch": 1},
                {"name": "settle", "from_epoch": 31, "ema_decay": 0.9995},
            ),
            prior=True,
        ),
        "conditional": _BEST | dict(epochs=20, lr_decay_epochs=10, eval_every=5),
    },
}
# Fields whose value counts epochs: a recipe's scale with an explicitly given run length.
_EPOCH_COUNTS = ("lr_decay_epochs",)


def describe() -> dict[str, str]:
    """Each recipe's name and one-line description."""
    return {name: recipe["description"] for name, recipe in RECIPES.items()}


def resolve(recipe: str, given: dict) -> TrainConfig:
    """The recipe's config for the kind of run `given` asks for, overridden by `given`.

    A given field holds for every stage. A given `epochs` moves the recipe's stage starts and
    epoch counts in proportion, unless those are given too. ValueError for an unknown recipe."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    kind = "conditional" if given.get("conditional") else "unconditional"
    base = TrainConfig.from_dict(dict(RECIPES[recipe][kind], recipe=recipe))
    if "epochs" in given and given["epochs"] != base.epochs:
        base = base.replace(**_scaled(base, given["epochs"]))
    return override(base, given)


def override(config: TrainConfig, given: dict) -> TrainConfig:
    """`config` with the `given` fields, which then hold in every stage too."""
    stages = tuple({k: v for k, v in s.items() if k not in given} for s in config.stages)
    return config.replace(**given, stages=stages)


def _scaled(base: TrainConfig, epochs: int) -> dict:
    """Epoch counts and stage starts of `base` for a run of `epochs` instead."""

    def scale(count: int) -> int:
        return max(1, round(count * epochs / base.epochs)) if count else 0

    values: dict[str, Any] = {
        name: min(scale(getattr(base, name)), epochs) for name in _EPOCH_COUNTS
    }
    stages, seen = [], set()
    for stage in base.stages:
        start = 1 + scale(stage["from_epoch"] - 1) if stage["from_epoch"] > 1 else 1
        if start not in seen:  # two stages squeezed onto one epoch: the later one wins
            seen.add(start)
            stages.append(stage | {"from_epoch": start})
        else:
            stages[-1] = stages[-1] | stage | {"from_epoch": start}
    values["stages"] = tuple(stages)
    return values
