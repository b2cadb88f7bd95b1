"""GET /models and GET /models/{name}: what is served, every version, and its model.json."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from app.deps import RegistryDep

router = APIRouter(tags=["models"])


@router.get("/models")
async def list_models(registry: RegistryDep) -> dict:
    """Every model: active version, status, conditional, each version's model.json."""
    return {
        "default": registry.default,
        "models": [registry.describe(name) for name in registry.names()],
    }


@router.get("/models/{name}", responses={404: {"description": "Unknown model."}})
async def get_model(name: str, registry: RegistryDep) -> dict:
    """One model: active version, status, conditional, each version's model.json."""
    if name not in registry.versions:
        raise HTTPException(
            404, f"unknown model {name!r}; available: {', '.join(registry.names())}"
        )
    return registry.describe(name)
