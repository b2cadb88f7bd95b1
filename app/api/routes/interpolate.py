"""GET /interpolate: a walk through the latent space as a PNG strip or an animated GIF."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import Digits, RegistryDep, RendererDep, SettingsDep, resolve_model
from app.api.routes.images import (
    IfNoneMatch,
    ModelQuery,
    cache_control,
    cache_key,
    image_responses,
    labels_for_request,
    labels_key,
    respond,
)
from app.serving.encoding import gif_bytes, grid_png
from app.serving.inputs import walk
from app.serving.renderer import ImageSpec

router = APIRouter(tags=["generate"])


@router.get(
    "/interpolate",
    operation_id="interpolateDigits",
    summary="Walk between two seeds' digits",
    response_class=Response,
    responses=image_responses("image/png")
    | {
        200: {
            "content": {"image/png": {}, "image/gif": {}},
            "description": "A strip PNG, or an animated GIF with `format=gif`.",
        }
    },
)
async def interpolate(
    request: Request,
    registry: RegistryDep,
    renderer: RendererDep,
    settings: SettingsDep,
    seed_a: Annotated[
        int,
        Query(ge=0, le=2**32 - 1, examples=[1], description="Seed of the first digit."),
        Digits,
    ],
    seed_b: Annotated[
        int,
        Query(ge=0, le=2**32 - 1, examples=[2], description="Seed of the last digit."),
        Digits,
    ],
    steps: Annotated[
        int,
        Query(ge=8, le=64, examples=[16], description="Images from A to B, ends included."),
        Digits,
    ] = 16,
    model: ModelQuery = None,
    digit: Annotated[
        int | None,
        Query(
            ge=0,
            le=9,
            examples=[7],
            description="Conditional models only: the digit drawn (default 0).",
        ),
        Digits,
    ] = None,
    format: Annotated[
        Literal["png", "gif"],
        Query(description="`png`: one strip; `gif`: an animation walking A to B and back."),
    ] = "png",
    scale: Annotated[
        int | None,
        Query(
            ge=1,
            le=8,
            examples=[4],
            description=("Integer nearest-neighbour upscaling (default 1 for png, 4 for gif)."),
        ),
        Digits,
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Walk the latent space from seed A's latent code to seed B's by spherical interpolation."""
    version = await resolve_model(registry, model)
    if digit is None and version.conditional:
        digit = 0
    labels = labels_for_request(version, steps, digit, None)
    scale = scale or (4 if format == "gif" else 1)
    generator = version.generator
    # a walk between codes and one through the noise (older code, same export) differ
    walked = "latent" if generator.latent_signatures else "noise"
    key = cache_key(
        "interp", version, walked, seed_a, seed_b, steps, labels_key(labels), format, scale
    )
    encode = (
        partial(gif_bytes, scale=scale)
        if format == "gif"
        else partial(grid_png, cols=steps, scale=scale)
    )
    path = partial(walk, generator, seed_a, seed_b, steps)
    spec = ImageSpec(key, version, path, labels, encode, f"image/{format}", latent=True)
    return await respond(
        request, spec, seed_a, True, renderer, cache_control(True, model, settings), if_none_match
    )
