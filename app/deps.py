"""FastAPI dependencies: what routes need, taken from app.state (filled by the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.batching import Batcher
from app.cache import ImageCache
from app.config import Settings
from app.metrics import Metrics
from app.registry import ModelRegistry, ModelVersion, UnknownModel


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


def get_batcher(request: Request) -> Batcher:
    return request.app.state.batcher


def get_cache(request: Request) -> ImageCache:
    return request.app.state.cache


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def resolve_model(registry: ModelRegistry, spec: str | None) -> ModelVersion:
    """The model a request names, or 404 saying what exists."""
    try:
        return registry.resolve(spec)
    except UnknownModel as exc:
        raise HTTPException(404, str(exc)) from None


def query_error(param: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so clients parse one format."""
    return HTTPException(422, [{"type": "value_error", "loc": ["query", param], "msg": message}])


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
BatcherDep = Annotated[Batcher, Depends(get_batcher)]
CacheDep = Annotated[ImageCache, Depends(get_cache)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
