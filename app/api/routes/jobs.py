"""Training jobs over HTTP: create, list, inspect, follow (SSE), samples, GIF, cancel, resume,
delete. Every route calls the Jobs façade (app/jobs/service.py) and shapes its answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    EVENT_ID_PATTERN,
    Digits,
    JobsDep,
    RegistryDep,
    SettingsDep,
    StreamsDep,
    require_json,
    require_token,
)
from app.api.errors import AUTH, INVALID, errors, ok_response
from app.jobs.schema import Job, JobParams
from app.jobs.service import DiskFull, JobConflict, NoSuchJob, QueueFull, StoreUnavailable
from app.logs import redact
from app.serving.encoding import progress_gif

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=errors(INVALID))
JobId = Annotated[int, Path(ge=1, le=2**53, description="The job's id.", examples=[1]), Digits]
NOT_FOUND = {404: "No such job."}
CONFLICT = {409: "Not possible in the job's state; the detail says why."}
UNAVAILABLE = {503: "The job database is unavailable: retry after `Retry-After` seconds."}


class JobPage(BaseModel):
    jobs: list[Job]
    total: int
    limit: int
    offset: int


@router.post(
    "",
    operation_id="createJob",
    summary="Start a training job",
    status_code=202,
    response_model=Job,
    dependencies=[Depends(require_token), Depends(require_json)],
    responses=errors(
        AUTH
        | {
            400: "The body is not JSON (e.g. not UTF-8).",
            413: "The body is too large.",
            409: "The name is a shipped model's, or a model's of the other kind.",
            415: "The body is not sent as `application/json`.",
            422: "A field is missing or invalid: `detail` lists each.",
            429: "Too many jobs are queued: retry after `Retry-After` seconds.",
            507: "The server's disk is full.",
        }
        | UNAVAILABLE
    ),
)
async def create_job(
    body: JobParams,
    jobs: JobsDep,
    registry: RegistryDep,
    settings: SettingsDep,
    response: Response,
) -> Job:
    """Queue a training run; follow it at the `Location` URL and its /events."""
    kinds = {name: registry.describe(name)["conditional"] for name in registry.names()}
    problem = export_name_problem(body, kinds, settings.protected_names)
    if problem:
        raise HTTPException(409, problem)
    job = await _call(jobs.create, body)
    response.headers["Location"] = f"/jobs/{job.id}"
    return job


def export_name_problem(
    params: JobParams, kinds: dict[str, bool | None], protected: tuple[str, ...]
) -> str | None:
    """Why a job may not export under its name (None: it may). `kinds`: each served name's
    conditional flag. Versions of one name are one kind, and shipped names stay the operator's."""
    name = params.name
    if name in protected:
        return (
            f"{name!r} is a shipped model: jobs may not add versions to it; choose another "
            "name (the operator can allow it with DCGAN_PROTECTED_NAMES)"
        )
    kind = kinds.get(name)
    if kind is not None and kind != params.conditional:
        have, want = ("a conditional", "an unconditional")[:: 1 if kind else -1]
        return (
            f"{name!r} is {have} model; {want} job must export under another name "
            f"(or set conditional to {str(kind).lower()})"
        )
    return None


@router.get("", operation_id="listJobs", summary="List training jobs", response_model=JobPage)
async def list_jobs(
    jobs: JobsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Jobs per page."), Digits] = 20,
    offset: Annotated[
        int, Query(ge=0, le=10**9, description="Jobs to skip, newest first."), Digits
    ] = 0,
) -> JobPage:
    """Every job, newest first."""
    page, total = await _call(jobs.page, limit, offset)
    return JobPage(jobs=page, total=total, limit=limit, offset=offset)


@router.get(
    "/{job_id}",
    operation_id="getJob",
    summary="Get one job",
    response_model=Job,
    responses=errors(NOT_FOUND),
)
async def get_one(job_id: JobId, jobs: JobsDep) -> Job:
    """One job: parameters, state, what may be done with it, progress, error, exported version."""
    return await _call(jobs.get, job_id)


async def existing_job(job_id: JobId, jobs: JobsDep) -> int:
    """404 before a stream starts, rather than inside it."""
    return (await _call(jobs.get, job_id)).id


@router.get(
    "/{job_id}/events",
    operation_id="jobEvents",
    summary="Follow a job's events (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=errors(NOT_FOUND | {503: "As many event streams are open as the server keeps."}),
)
async def events(
    job_id: Annotated[int, Depends(existing_job)],
    jobs: JobsDep,
    streams: StreamsDep,
    # A string of digits, not an int: lax int parsing would also take "+0.0" or " 1".
    last_event_id: Annotated[
        str,
        Header(
            pattern=EVENT_ID_PATTERN,
            description="Resend only events after this id (sent by EventSource on reconnection).",
        ),
    ] = "0",
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: the trainer's events and state changes, each with an id; the
    stream ends with the job (a finished job replays its history)."""
    with streams.held():
        async for event_id, kind, data in jobs.follow(job_id, int(last_event_id)):
            yield ServerSentEvent(id=str(event_id), event=kind, data=data)


@router.get(
    "/{job_id}/samples/{epoch}.png",
    operation_id="getJobSample",
    summary="Get an epoch's sample grid",
    response_class=FileResponse,
    responses=ok_response("image/png") | errors({404: "No such job or sample."}),
)
async def sample(
    job_id: JobId,
    jobs: JobsDep,
    epoch: Annotated[int, Path(ge=1, le=100_000, description="Epoch number."), Digits],
):
    """The fixed-noise 4x4 grid drawn after this epoch."""
    return FileResponse(await _call(jobs.sample, job_id, epoch), media_type="image/png")


@router.get(
    "/{job_id}/progress.gif",
    operation_id="getJobProgressGif",
    summary="Get a job's samples as an animation",
    response_class=Response,
    responses=ok_response("image/gif")
    | errors(NOT_FOUND | {409: "The job has finished no epoch yet."}),
)
async def gif(job_id: JobId, jobs: JobsDep) -> Response:
    """The epochs' sample grids so far, as an animation."""
    frames = await _call(jobs.samples, job_id)
    if not frames:
        raise HTTPException(409, f"job {job_id} has finished no epoch yet")
    return Response(await run_in_threadpool(progress_gif, frames), media_type="image/gif")


@router.post(
    "/{job_id}/cancel",
    operation_id="cancelJob",
    summary="Cancel a job",
    response_model=Job,
    dependencies=[Depends(require_token)],
    responses=errors(AUTH | NOT_FOUND | CONFLICT),
)
async def cancel(job_id: JobId, jobs: JobsDep) -> Job:
    """Stop a job: a running trainer checkpoints first; the state becomes `cancelled`."""
    return await _call(jobs.cancel, job_id)


@router.post(
    "/{job_id}/resume",
    operation_id="resumeJob",
    summary="Resume a job from its last checkpoint",
    response_model=Job,
    dependencies=[Depends(require_token)],
    responses=errors(AUTH | NOT_FOUND | CONFLICT),
)
async def resume(job_id: JobId, jobs: JobsDep) -> Job:
    """Queue a cancelled, failed or interrupted job again, from its latest checkpoint."""
    return await _call(jobs.resume, job_id)


@router.delete(
    "/{job_id}",
    operation_id="deleteJob",
    summary="Delete a finished job",
    status_code=204,
    dependencies=[Depends(require_token)],
    responses=errors(AUTH | NOT_FOUND | CONFLICT),
)
async def delete(job_id: JobId, jobs: JobsDep) -> Response:
    """Delete a finished job, its events and its files (not the model version it exported)."""
    await _call(jobs.delete, job_id)
    return Response(status_code=204)


async def _call(action: Callable, *args):
    """The façade's answer, its errors as 404, 409, 429, 503 and 507."""
    try:
        return await action(*args)
    except NoSuchJob as exc:
        raise HTTPException(404, str(exc)) from None
    except JobConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except QueueFull as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "60"}) from None
    except DiskFull as exc:
        raise HTTPException(507, f"the server's disk is full: {redact(str(exc))}") from None
    except StoreUnavailable as exc:
        raise HTTPException(503, redact(str(exc)), headers={"Retry-After": "5"}) from None
