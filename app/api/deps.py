"""FastAPI dependencies: what routes need, taken from app.state (filled by the lifespan).

They are `async` so that FastAPI calls them on the event loop, not through a thread pool.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator

from app.api.guard import token_ok
from app.config import Settings
from app.jobs.service import Jobs
from app.metrics import Metrics
from app.names import NAME_PATTERN, NAME_RULE, REF_PATTERN, REF_RULE
from app.serving.registry import ModelRegistry, ModelVersion, UnknownModel
from app.serving.renderer import Renderer

DIGIT_LIST_PATTERN = r"^[0-9](,[0-9])*$"
EVENT_ID_PATTERN = r"^[0-9]{1,15}$"
# What each pattern of the API allows, in words: error answers name these, never the regex.
PATTERN_RULES = {
    f"^{NAME_PATTERN}$": NAME_RULE,
    REF_PATTERN: REF_RULE,
    DIGIT_LIST_PATTERN: "digits 0-9 separated by commas, such as 0,1,2",
    EVENT_ID_PATTERN: "an event id: 1-15 digits 0-9",
}
# Declares the token in the OpenAPI schema (the Authorize button of /docs); require_token checks it.
BEARER = HTTPBearer(
    scheme_name="bearerToken",
    description="The service's DCGAN_API_TOKEN, sent as `Authorization: Bearer <token>`.",
    auto_error=False,
)


class Streams:
    """The open event streams of this process, capped below the connection limit (uvicorn's
    limit_concurrency): followers never take the places health probes and images need."""

    def __init__(self, limit: int):
        self.limit, self.open = limit, 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


async def stream_room(request: Request) -> Streams:
    """503 before a stream starts when as many are open as allowed."""
    streams: Streams = request.app.state.streams
    if streams.open >= streams.limit:
        raise HTTPException(
            503,
            f"{streams.open} event streams are open, the most this server keeps; retry later",
            headers={"Retry-After": "5"},
        )
    return streams


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
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> None:
    """401 unless the request carries the configured bearer token (when one is set). The Guard
    middleware checks the same before reading a body; this declares it in the OpenAPI schema."""
    if not token_ok(request.app.state.settings.api_token, request.headers.get("authorization")):
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


async def require_json(request: Request) -> None:
    """415 for a body that is not sent as JSON (FastAPI would parse it as text, and answer that
    the body is not an object)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not re.fullmatch(r"application/([^/]+\+)?json", kind):
        raise HTTPException(415, "send the body as JSON, with Content-Type: application/json")


async def resolve_model(registry: ModelRegistry, spec: str | None) -> ModelVersion:
    """The model a request names, loaded, or 404 saying what exists."""
    try:
        return await registry.resolve(spec)
    except UnknownModel as exc:
        raise HTTPException(404, str(exc)) from None


def _whole_number(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in the digits 0-9, such as 16")
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

StreamsDep = Annotated[Streams, Depends(stream_room)]
