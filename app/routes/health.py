"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from app.deps import MetricsDep, RegistryDep

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    models: dict[str, str]


@router.get("/healthz", operation_id="checkLiveness", summary="Is the process alive")
async def healthz() -> dict:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="checkReadiness",
    summary="Is a model loaded",
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "No model is loaded."},
    },
)
async def readyz(registry: RegistryDep) -> JSONResponse:
    """Ready: at least one model is loaded and servable."""
    ready = bool(registry.active)
    body = {
        "status": "ready" if ready else "not ready",
        "models": {name: f"{name}@{v}" for name, v in sorted(registry.active.items())},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests and latency by route, images, batches, cache."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
