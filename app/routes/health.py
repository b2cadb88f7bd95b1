"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import MetricsDep, RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "No model is loaded."}})
async def readyz(registry: RegistryDep) -> JSONResponse:
    """Ready: at least one model is loaded and servable."""
    ready = bool(registry.active)
    body = {
        "status": "ready" if ready else "not ready",
        "models": {name: f"{name}@{v}" for name, v in sorted(registry.active.items())},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests by route, images, batches, cache, jobs, process."""
    return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)
