"""Every setting of the service, read once from DCGAN_* environment variables at start-up."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.serving.shipped import default_models_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DCGAN_", frozen=True, populate_by_name=True)

    # before models_dir, whose default it gives
    data_dir: Path = Field(Path("data"), description="job database (SQLite), job folders")
    models_dir: Path = Field(
        None,  # validate_default: _models_dir turns it into a folder
        validate_default=True,
        description="exported generators, NAME/VERSION/; unset: a checkout's own models/, an "
        "installed wheel's DATA_DIR/models (a copy of the shipped models made at its first start)",
    )
    default_model: str = Field("dcgan", description="model used when a request names none")
    host: str = Field("127.0.0.1", description="dcgan-serve listen address")
    port: int = Field(8000, description="dcgan-serve listen port")
    workers: int = Field(1, ge=1, description="dcgan-serve worker processes")
    limit_concurrency: int = Field(
        1024, ge=2, description="dcgan-serve: connections and requests at once; 503 beyond"
    )
    max_event_streams: int = Field(
        512,
        ge=1,
        description="open /jobs/{id}/events streams at once (per process); 503 beyond. Below "
        "DCGAN_LIMIT_CONCURRENCY, so that followers never take health probes' places",
    )
    header_timeout: float = Field(
        10, gt=0, description="dcgan-serve: seconds a client has to send a request's headers"
    )
    keep_alive_timeout: float = Field(
        5, gt=0, description="dcgan-serve: seconds an idle keep-alive connection stays open"
    )
    batch_max_images: int = Field(
        64, ge=1, description="most images a batch gathers (a larger request goes alone)"
    )
    generator_calls: int = Field(
        2,
        ge=1,
        description="generator calls at once; a second, started only when a full batch waits, "
        "fills the idle moments of the first",
    )
    batch_max_wait_ms: float = Field(
        0.0, ge=0, description="how long a batch waits for more when requests are queued"
    )
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="generator arithmetic; auto: bfloat16 where the CPU has AMX or AVX512-BF16",
    )
    generation_mode: Literal["auto", "batched", "per-image"] = Field(
        "auto",
        description="auto: batched calls of the sizes the load-time self-test found exact, else "
        "each image alone; batched: every size, not byte-exact (for GPUs); per-image: force",
    )
    max_queue_seconds: float = Field(
        2.0, gt=0, description="most work (seconds, estimated) queued for the generator; 503 after"
    )
    cache_bytes: int = Field(64 * 2**20, ge=0, description="LRU cache of rendered images, bytes")
    cache_max_age: int = Field(
        86400 * 365, description="Cache-Control max-age of seeded images of a name@version"
    )
    cache_max_age_unpinned: int = Field(
        60, description="... of seeded images of a name alone (its active version may change)"
    )
    database_url: str | None = Field(
        None, description="postgresql://... to share jobs between replicas and workers"
    )
    run_jobs: Literal["embedded", "off"] = Field(
        "embedded", description="embedded: this process runs jobs; off: dcgan-worker does"
    )
    max_queued_jobs: int = Field(20, ge=1, description="queued jobs; POST /jobs is 429 after")
    heartbeat_timeout: float = Field(
        30, gt=0, description="seconds without a runner's heartbeat before its job is recovered"
    )
    cancel_grace_seconds: float = Field(
        60,
        gt=0,
        description="seconds a stopped job's trainer has to checkpoint and exit after SIGTERM; "
        "then SIGKILL (the job resumes from its last checkpoint)",
    )
    keep_succeeded_checkpoints: bool = Field(
        False, description="keep a succeeded job's checkpoints (nothing resumes from them)"
    )
    job_checkpoint_days: float | None = Field(
        7, description="delete other finished jobs' checkpoints after this many days"
    )
    models_poll_seconds: float = Field(
        2, gt=0, description="how often the models folder is checked for new or removed versions"
    )
    max_idle_versions: int = Field(
        2, ge=0, description="versions kept loaded besides the active ones (LRU)"
    )
    max_loaded_versions: int = Field(
        6,
        ge=1,
        description="versions kept loaded in all, active ones included (LRU; the default "
        "model's stays): an unloaded one loads again when asked for",
    )
    api_token: str | None = Field(
        None, description="Bearer token required by POST and DELETE endpoints"
    )
    max_body_bytes: int = Field(65536, ge=1024, description="largest request body; 413 after")
    mnist_path: Path | None = Field(
        None,
        validation_alias=AliasChoices("DCGAN_MNIST_PATH", "MNIST_PATH"),
        description="MNIST for training jobs (Keras mnist.npz or IDX folder; also read from "
        "MNIST_PATH); none: the trainer downloads it",
    )
    protected_names: tuple[str, ...] = Field(
        ("dcgan", "cdcgan"),
        description="model names jobs may not add versions to (the shipped ones), as JSON: "
        '["dcgan"]; [] allows every name',
    )
    log_level: str = Field("info", description="logging level")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="json: one JSON object a line (time, level, logger, message, request_id, "
        "job_id), uvicorn's lines included",
    )
    graceful_timeout: float = Field(
        30,
        gt=0,
        description="dcgan-serve: seconds open requests get at shutdown before open streams are "
        "closed (keep a pod's terminationGracePeriodSeconds above it)",
    )
    alive_file: Path | None = Field(
        None,
        description="dcgan-worker: a file touched every few seconds while it runs, for an exec "
        "liveness probe; none: no file",
    )

    @field_validator("data_dir", "mnist_path", mode="before")
    @classmethod
    def _absolute(cls, path: str | Path | None) -> Path | None:
        return _absolute(path)

    @field_validator("models_dir", mode="before")
    @classmethod
    def _models_dir(cls, path: str | Path | None, info: ValidationInfo) -> Path:
        """Unset: found from where the code is, not the working folder (app/serving/shipped.py)."""
        return _absolute(path) or default_models_dir(info.data.get("data_dir") or Path("data"))

    access_log: bool = Field(True, description="dcgan-serve: a log line per request")

    @model_validator(mode="after")
    def _streams_leave_room(self) -> Settings:
        if self.max_event_streams >= self.limit_concurrency:
            raise ValueError(
                f"DCGAN_MAX_EVENT_STREAMS ({self.max_event_streams}) must be below "
                f"DCGAN_LIMIT_CONCURRENCY ({self.limit_concurrency}), or open event streams "
                "would leave no room for health probes"
            )
        return self


def _absolute(path: str | Path | None) -> Path | None:
    """Relative to the folder the service starts in, once: trainers run in job folders.
    An empty value is none (make's MNIST_PATH is empty where no MNIST is found)."""
    if path is None or str(path) == "":
        return None
    return Path(path).expanduser().resolve()


def read_settings(prog: str) -> Settings:
    """Settings for a command line: bad DCGAN_* values end it with one line each, no traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = f"DCGAN_{str(error['loc'][0]).upper()}: " if error["loc"] else ""
            print(f"{prog}: {where}{error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None
