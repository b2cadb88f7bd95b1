"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from app.api.deps import JobsDep, MetricsDep, RegistryDep

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    models: dict[str, str]
    reason: str | None = None


@router.get("/healthz", operation_id="checkLiveness", summary="Is the process alive")
async def healthz() -> dict:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="checkReadiness",
    summary="Can it serve and run jobs",
    responses={
        200: {"model": Readiness},
        503: {
            "model": Readiness,
            "description": "No model is loaded, or jobs cannot run: `reason` says why.",
        },
    },
)
async def readyz(registry: RegistryDep, jobs: JobsDep) -> JSONResponse:
    """Ready: a model is loaded and servable, and the job runner and database are up."""
    reason = None if registry.active else "no model is loaded"
    reason = reason or await jobs.problem()
    body = {
        "status": "not ready" if reason else "ready",
        "models": {name: f"{name}@{v}" for name, v in sorted(registry.active.items())},
    }
    if reason:
        body["reason"] = reason
    return JSONResponse(body, status_code=503 if reason else 200)


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests by route, images, batches, cache, jobs, process."""
    return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)
