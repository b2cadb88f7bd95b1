"""Training jobs over HTTP: create, list, inspect, follow (SSE), samples, GIF, cancel, resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from app.deps import JobsDep, require_token
from app.imaging import progress_gif
from app.jobs import JobConflict, JobManager
from app.jobstore import FINISHED

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobId = Annotated[int, Path(ge=1, le=2**62, description="The job's id.", examples=[1])]


class JobCreate(BaseModel):
    """A training run. The dataset is the server's; clients never pass paths."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9-]{1,40}$",
        examples=["my-digits"],
        description="Model name to export as: models/NAME/<next version>.",
    )
    epochs: int = Field(50, ge=1, le=500, description="Epochs to train.")
    batch_size: int = Field(256, ge=1, le=4096, description="Global batch size.")
    learning_rate: float = Field(1e-4, gt=0, le=1, description="Adam learning rate.")
    beta_1: float = Field(0.9, ge=0, lt=1, description="Adam beta_1.")
    label_smoothing: float = Field(0.0, ge=0, le=0.5, description="One-sided, on real targets.")
    conditional: bool = Field(False, description="Train G(noise, digit).")
    mixed_precision: Literal["float32", "bfloat16"] = "float32"
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed.")
    limit: int | None = Field(None, ge=1, le=60000, description="Train on the first N images.")
    eval_every: int = Field(0, ge=0, le=500, description="Score quality every K epochs (0: off).")
    activate: bool = Field(False, description="Serve the export as soon as it loads.")


class Job(BaseModel):
    id: int
    state: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
    params: dict
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: dict = Field(
        description="epoch, epochs, step, steps, g_loss, d_loss, "
        "images_per_sec, eta_seconds, metrics, sample_url"
    )
    error: str | None
    model_version: str | None = Field(description="name@version exported by this job.")


class JobPage(BaseModel):
    jobs: list[Job]
    total: int
    limit: int
    offset: int


async def get_job(job_id: JobId, jobs: JobsDep) -> dict:
    job = jobs.store.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job


JobDep = Annotated[dict, Depends(get_job)]
AUTH = {401: {"description": "Missing or wrong bearer token."}}


@router.post(
    "",
    status_code=202,
    response_model=Job,
    dependencies=[Depends(require_token)],
    responses=AUTH | {422: {"description": "A field is missing or invalid."}},
)
async def create_job(body: JobCreate, jobs: JobsDep, response: Response) -> dict:
    """Queue a training run; follow it at the `Location` URL and its /events."""
    job = jobs.create(body.model_dump())
    response.headers["Location"] = f"/jobs/{job['id']}"
    return job


@router.get("", response_model=JobPage)
async def list_jobs(
    jobs: JobsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Jobs per page.")] = 20,
    offset: Annotated[int, Query(ge=0, description="Jobs to skip, newest first.")] = 0,
) -> dict:
    """Every job, newest first."""
    page, total = jobs.store.list(limit, offset)
    return {"jobs": page, "total": total, "limit": limit, "offset": offset}


@router.get("/{job_id}", response_model=Job, responses={404: {"description": "No such job."}})
async def get_one(job: JobDep) -> dict:
    """One job: parameters, state, timestamps, progress, error, exported version."""
    return job


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def events(
    job: JobDep,
    jobs: JobsDep,
    last_event_id: Annotated[
        int | None,
        Header(
            ge=0,
            description="Resend only events after this id (sent by EventSource on reconnection).",
        ),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: the trainer's events and state changes, each with an id; the
    stream ends with the job (a finished job replays its history)."""
    async for event_id, kind, data in follow(jobs, job["id"], last_event_id or 0):
        yield ServerSentEvent(id=str(event_id), event=kind, data=data)


async def follow(jobs: JobManager, job_id: int, after: int):
    while True:
        async with jobs.changed:
            new = jobs.store.events_after(job_id, after)
            if not new:
                if jobs.store.get(job_id)["state"] in FINISHED:
                    return
                await jobs.changed.wait()
                continue
        for event_id, kind, data in new:
            yield event_id, kind, data
            after = event_id


@router.get(
    "/{job_id}/samples/{epoch}.png",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "No sample."}},
)
async def sample(
    job: JobDep,
    jobs: JobsDep,
    epoch: Annotated[int, Path(ge=1, le=100_000, description="Epoch number.")],
):
    """The fixed-noise 4x4 grid drawn after this epoch."""
    path = jobs.job_dir(job["id"]) / "run" / "samples" / f"epoch_{epoch:04d}.png"
    if not path.is_file():
        raise HTTPException(404, f"job {job['id']} has no sample for epoch {epoch}")
    return FileResponse(path, media_type="image/png")


@router.get(
    "/{job_id}/progress.gif",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}}, 404: {"description": "No epochs."}},
)
async def gif(job: JobDep, jobs: JobsDep) -> Response:
    """The epochs' sample grids so far, as an animation."""
    frames = sorted((jobs.job_dir(job["id"]) / "run" / "samples").glob("epoch_*.png"))
    if not frames:
        raise HTTPException(404, f"job {job['id']} has finished no epoch yet")
    return Response(await run_in_threadpool(progress_gif, frames), media_type="image/gif")


@router.post(
    "/{job_id}/cancel",
    response_model=Job,
    dependencies=[Depends(require_token)],
    responses=AUTH | {409: {"description": "The job is not queued or running."}},
)
async def cancel(job: JobDep, jobs: JobsDep) -> dict:
    """Stop a job: a running trainer checkpoints first; the state becomes `cancelled`."""
    return _conflict_as_409(jobs.cancel, job["id"])


@router.post(
    "/{job_id}/resume",
    response_model=Job,
    dependencies=[Depends(require_token)],
    responses=AUTH | {409: {"description": "Not resumable (state or checkpoint)."}},
)
async def resume(job: JobDep, jobs: JobsDep) -> dict:
    """Queue a cancelled, failed or interrupted job again, from its latest checkpoint."""
    return _conflict_as_409(jobs.resume, job["id"])


def _conflict_as_409(action, job_id: int) -> dict:
    try:
        return action(job_id)
    except JobConflict as exc:
        raise HTTPException(409, str(exc)) from None
