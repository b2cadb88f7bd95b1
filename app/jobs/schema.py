"""What a training job is: its states, its parameters (typed, each onto a trainer flag), its
record (as the store holds it, and as the API shows it), and how trainer events project into
its progress."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator

from app.logs import redact
from app.names import NAME_PATTERN, RESERVED, name_problem


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the service or worker stopped while it ran


ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
FINISHED = frozenset(JobState) - ACTIVE
RESUMABLE = frozenset({JobState.CANCELLED, JobState.FAILED, JobState.INTERRUPTED})


def state_flags(state: str) -> dict[str, bool]:
    """What a client may do with a job in this state (the page reads these, not a state list)."""
    state = JobState(state)
    return {
        "finished": state in FINISHED,
        "cancellable": state in ACTIVE,
        "resumable": state in RESUMABLE,
        "deletable": state in FINISHED,
    }


Recipe = Literal["quality", "quick", "tutorial"]  # the trainer's --recipe names
RECIPES = get_args(Recipe)


class JobParams(BaseModel):
    """A training run: a recipe, and fields that override its values. Every field but `name`
    and `activate` is the trainer flag of its name (`batch_size` -> `--batch-size`); a field
    left out takes the recipe's value. The dataset is the server's; clients never pass paths."""

    # strict: JSON's true is not an epoch count, nor "5" a seed
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        # the body /docs fills in for "Try it out"
        json_schema_extra={
            "examples": [{"name": "my-digits", "epochs": 5, "conditional": True, "activate": True}]
        },
    )

    name: str = Field(
        pattern=f"^{NAME_PATTERN}$",
        examples=["my-digits"],
        description="Model to export as (models/NAME/<next version>): 1-40 of a-z 0-9 - _, "
        f"starting with a letter or digit; reserved: {', '.join(sorted(RESERVED))}.",
    )
    recipe: Recipe = Field(
        "quality",
        description="Settings to start from. quality: the project's best (60 epochs, 20 "
        "conditional, with a fitted noise prior; about 1.5 hours on 2 cores); quick: "
        "recognisable digits in a few minutes (3 epochs); tutorial: the TensorFlow DCGAN "
        "tutorial's settings exactly (50 epochs). The fields below override it.",
    )
    epochs: int | None = Field(None, ge=1, le=500, description="Epochs to train.")
    batch_size: int | None = Field(None, ge=1, le=4096, description="Global batch size.")
    learning_rate: float | None = Field(None, gt=0, le=1, description="Adam learning rate.")
    beta_1: float | None = Field(None, ge=0, lt=1, description="Adam beta_1.")
    label_smoothing: float | None = Field(
        None, ge=0, le=0.5, description="One-sided, on real targets."
    )
    ema_decay: float | None = Field(
        None, ge=0, lt=1, description="EMA of the generator's weights, e.g. 0.999 (0: off)."
    )
    lr_decay_epochs: int | None = Field(
        None, ge=0, le=500, description="Lower both rates linearly over the last K epochs (0: off)."
    )
    top_k: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Top-k training: G learns from the fakes D rates best, 1% fewer an epoch "
        "down to this share, e.g. 0.5 (1: off).",
    )
    r1_gamma: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="R1 penalty: D's loss adds gamma/2 times its squared input gradient on "
        "real images, e.g. 0.1 (0: off).",
    )
    r1_every: int | None = Field(
        None, ge=1, le=1000, description="Lazy R1: the penalty every Nth step, N times as strong."
    )
    conditional: StrictBool = Field(False, description="Train G(noise, digit).")
    mixed_precision: Literal["float32", "bfloat16", "auto"] | None = Field(
        None, description="auto: bfloat16 where the CPU has AMX or AVX512-BF16."
    )
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Random seed.")
    limit: int | None = Field(None, ge=1, le=60000, description="Train on the first N images.")
    eval_every: int | None = Field(
        None, ge=0, le=500, description="Score quality every K epochs and at the end (0: off)."
    )
    checkpoint_every: int = Field(
        1, ge=1, le=500, description="Epochs between checkpoints (a killed job resumes there)."
    )
    activate: StrictBool = Field(False, description="Serve the export as soon as it loads.")

    @field_validator("name")
    @classmethod
    def _servable(cls, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("lr_decay_epochs")
    @classmethod
    def _within_run(cls, k: int | None, info: ValidationInfo) -> int | None:
        epochs = info.data.get("epochs")
        if k is not None and epochs is not None and k > epochs:
            raise ValueError(f"must be at most epochs ({epochs})")
        return k

    def trainer_flags(self) -> list[str]:
        """The training CLI's flags for these parameters: the recipe and what overrides it."""
        flags: list[str] = []
        values = self.model_dump(exclude={"name", "activate"}, exclude_none=True)
        for key, value in values.items():
            flag = f"--{key.replace('_', '-')}"
            if isinstance(value, bool):
                flags += [flag] if value else []
            else:
                flags += [flag, str(value)]
        return flags


class JobProgress(BaseModel):
    """Where training stands, from the trainer's events."""

    stage: str | None = Field(None, description="The recipe's stage now (e.g. grow, prior).")
    epoch: int | None = None
    epochs: int | None = None
    step: int | None = None
    steps: int | None = None
    start_epoch: int | None = None
    steps_per_epoch: int | None = None
    g_loss: float | None = None
    d_loss: float | None = None
    images_per_sec: float | None = None
    eta_seconds: float | None = None
    images_seen: int | None = Field(None, description="Training images processed so far.")
    train_seconds: float | None = Field(None, description="Training time so far.")
    metrics: dict[str, Any] | None = Field(None, description="Quality at the last evaluation.")
    sample_url: str | None = Field(None, description="The latest epoch's sample grid.")


def project(progress: dict, kind: str, event: dict, job_id: int) -> dict:
    """The progress after a trainer event (`start`, `progress` and `epoch` move it)."""
    if kind not in ("start", "progress", "epoch", "stage"):
        return progress
    progress = progress | {k: event[k] for k in JobProgress.model_fields if k in event}
    if kind == "epoch":
        progress["step"] = progress.get("steps_per_epoch", progress.get("step"))
        progress["sample_url"] = f"/jobs/{job_id}/samples/{event['epoch']}.png"
    return progress


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """One job as the store holds it (app/jobs/store.py builds it from a row)."""

    id: int
    params: dict[str, Any]  # the POST body, as stored (a row from an older release may not parse)
    state: JobState
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress: dict[str, Any] = dataclasses.field(default_factory=dict)  # see project()
    error: str | None = None
    model_version: str | None = None  # name@version exported
    cancel_requested: bool = False
    worker: str | None = None  # the runner that holds it while it runs
    heartbeat_at: float | None = None
    events_offset: int = 0  # bytes of the trainer's events file already copied into the store


# A job as the API shows it: its record, what may be done with it, no server paths. (A comment,
# not a docstring: pydantic would put that in the OpenAPI schema.)
class Job(BaseModel):
    id: int
    state: JobState
    params: dict[str, Any] = Field(description="The POST body, as stored.")
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: JobProgress
    error: str | None
    model_version: str | None = Field(description="name@version exported by this job.")
    finished: bool
    cancellable: bool
    resumable: bool
    deletable: bool

    @classmethod
    def of(cls, record: JobRecord, flags: dict[str, bool]) -> Job:
        """`flags`: what may be done with it now (see state_flags)."""
        return cls(
            id=record.id,
            state=record.state,
            params=record.params,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            progress=JobProgress.model_validate(record.progress),
            error=redact(record.error) if record.error else None,
            model_version=record.model_version,
            **flags,
        )
