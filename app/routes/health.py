"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import JobsDep, MetricsDep, RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "No model is loaded, or jobs cannot run: `reason` says why."}},
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
    "/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests and latency by route, images, batches, cache."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
