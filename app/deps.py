"""FastAPI dependencies: what routes need, taken from app.state (filled by the lifespan).

They are `async` so that FastAPI calls them on the event loop, not through a thread pool.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from pydantic import BeforeValidator

from app.config import Settings
from app.guard import token_ok
from app.jobs import Jobs
from app.metrics import Metrics
from app.registry import ModelRegistry, ModelVersion, UnknownModel
from app.rendering import Renderer


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_renderer(request: Request) -> Renderer:
    return request.app.state.renderer


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


async def require_token(
    request: Request,
    authorization: Annotated[str | None, Header(description="`Bearer <token>`")] = None,
) -> None:
    """401 unless the request carries the configured bearer token (when one is set). The Guard
    middleware checks the same before reading a body; this declares it in the OpenAPI schema."""
    if not token_ok(request.app.state.settings.api_token, authorization):
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


async def resolve_model(registry: ModelRegistry, spec: str | None) -> ModelVersion:
    """The model a request names, loaded, or 404 saying what exists."""
    try:
        return await registry.resolve(spec)
    except UnknownModel as exc:
        raise HTTPException(404, str(exc)) from None


def _whole_number(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("write a whole number in the digits 0-9, such as 16")
    return value


# An integer in a URL is written in ASCII digits: pydantic alone also reads "1_6", "+16", " 16"
# and "16.0" as 16. Put it after Query()/Path() in Annotated, so the schema keeps its bounds.
Digits = BeforeValidator(_whole_number)


def query_error(param: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so clients parse one format."""
    return HTTPException(422, [{"type": "value_error", "loc": ["query", param], "msg": message}])


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
RendererDep = Annotated[Renderer, Depends(get_renderer)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
