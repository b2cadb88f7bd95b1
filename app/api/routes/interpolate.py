"""GET /interpolate: a walk through the latent space as a PNG strip or an animated GIF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import Digits, RegistryDep, RendererDep, SettingsDep, resolve_model
from app.api.routes.images import (
    IfNoneMatch,
    ModelQuery,
    cache_control,
    image_responses,
    labels_for_request,
    respond,
)
from app.serving.images import WalkRequest

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
    image = WalkRequest.of(version, seed_a, seed_b, steps, labels, format, scale)
    caching = cache_control(image.seed.given, model, settings)
    return await respond(request, image, renderer, caching, if_none_match)
