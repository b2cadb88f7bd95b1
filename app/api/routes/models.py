"""The models: list them, inspect one, choose the version a name serves, delete a version,
download one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi.responses import StreamingResponse

from app.api.deps import Digits, RegistryDep, require_token
from app.api.errors import AUTH, INVALID, errors
from app.names import NAME_PATTERN
from app.serving.archive import tar_gz
from app.serving.registry import ModelConflict, ModelRegistry, UnknownModel

router = APIRouter(prefix="/models", tags=["models"])
Name = Annotated[str, Path(pattern=f"^{NAME_PATTERN}$", examples=["dcgan"])]
Version = Annotated[int, Path(ge=1, le=999_999_999, examples=[1]), Digits]
NOT_FOUND = {404: "Unknown model or version."}


@router.get("", operation_id="listModels", summary="List the models")
async def list_models(registry: RegistryDep) -> dict:
    """Every model: active version, status, conditional, each version's model.json and how it
    generates."""
    return {
        "default": registry.default,
        "models": [registry.describe(name) for name in registry.names()],
    }


@router.get(
    "/{name}",
    operation_id="getModel",
    summary="Describe one model",
    responses=errors(NOT_FOUND | INVALID),
)
async def get_model(name: Name, registry: RegistryDep) -> dict:
    """One model: active version, status, conditional, each version's model.json."""
    if name not in registry.versions:
        raise unknown_model(registry, name)
    return registry.describe(name)


@router.get(
    "/{name}/{version}/download",
    operation_id="downloadModelVersion",
    summary="Download a model version",
    response_class=StreamingResponse,
    responses=errors(NOT_FOUND | INVALID)
    | {
        200: {
            "content": {"application/gzip": {}},
            "description": "`NAME-VERSION.tar.gz`, its files under `NAME/VERSION/`.",
        }
    },
)
async def download(name: Name, version: Version, registry: RegistryDep) -> StreamingResponse:
    """The version's folder (SavedModel, model.json, previews) as a .tar.gz, streamed."""
    model = registry.versions.get(name, {}).get(version)
    if model is None:
        raise unknown_model(registry, name, version)
    return StreamingResponse(
        tar_gz(model.path, f"{name}/{version}"),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}-{version}.tar.gz"'},
    )


@router.post(
    "/{name}/{version}/activate",
    operation_id="activateModelVersion",
    summary="Serve a version for its name",
    dependencies=[Depends(require_token)],
    responses=errors(AUTH | NOT_FOUND | INVALID),
)
async def activate(name: Name, version: Version, registry: RegistryDep) -> dict:
    """Serve this version for its name from now on (every replica sharing the folder)."""
    try:
        await registry.activate(name, version)
    except UnknownModel as exc:
        raise HTTPException(404, str(exc)) from None
    return registry.describe(name)


@router.delete(
    "/{name}/{version}",
    operation_id="deleteModelVersion",
    summary="Delete a model version",
    status_code=204,
    dependencies=[Depends(require_token)],
    responses=errors(AUTH | NOT_FOUND | INVALID | {409: "It is the default model's last version."}),
)
async def delete_version(name: Name, version: Version, registry: RegistryDep) -> Response:
    """Unload a version and delete its folder; its name then serves its next version."""
    try:
        await registry.delete(name, version)
    except UnknownModel as exc:
        raise HTTPException(404, str(exc)) from None
    except ModelConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return Response(status_code=204)


def unknown_model(registry: ModelRegistry, name: str, version: int | None = None) -> HTTPException:
    """404 saying which models, or which versions of this one, exist."""
    if name not in registry.versions:
        return HTTPException(
            404, f"unknown model {name!r}; available: {', '.join(registry.names())}"
        )
    versions = ", ".join(map(str, sorted(registry.versions[name])))
    return HTTPException(404, f"model {name!r} has no version {version}; versions: {versions}")
