"""GET /generate: n generated digits as a PNG grid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import (
    DIGIT_LIST_PATTERN,
    Digits,
    RegistryDep,
    RendererDep,
    SettingsDep,
    resolve_model,
)
from app.api.routes.images import (
    IfNoneMatch,
    ModelQuery,
    cache_control,
    image_responses,
    labels_for_request,
    respond,
)
from app.serving.images import GridRequest, Seed

router = APIRouter(tags=["generate"])

SeedQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**32 - 1,
        examples=[42],
        description="Noise seed. The same seed, model version and parameters give the same bytes; "
        "when absent a random seed is chosen and returned in `X-Seed`.",
    ),
    Digits,
]
DigitQuery = Annotated[
    int | None,
    Query(ge=0, le=9, examples=[7], description="Conditional models only: draw this digit."),
    Digits,
]
NQuery = Annotated[int, Query(ge=1, le=256, examples=[16], description="Number of digits."), Digits]
DigitsQuery = Annotated[
    str | None,
    Query(
        pattern=DIGIT_LIST_PATTERN,
        examples=["0,1,2,3,4,5,6,7,8,9"],
        description="Conditional models only: one digit per image, repeated to fill n. "
        "Without digit or digits a conditional grid cycles 0..9.",
    ),
]


@router.get(
    "/generate",
    operation_id="generateDigits",
    summary="Generate a grid of digits",
    response_class=Response,
    responses=image_responses("image/png"),
)
async def generate(
    request: Request,
    registry: RegistryDep,
    renderer: RendererDep,
    settings: SettingsDep,
    n: NQuery = 16,
    seed: SeedQuery = None,
    model: ModelQuery = None,
    digit: DigitQuery = None,
    digits: DigitsQuery = None,
    cols: Annotated[
        int | None,
        Query(
            ge=1,
            le=256,
            examples=[4],
            description="Grid columns (default ceil(sqrt(n)), at most n).",
        ),
        Digits,
    ] = None,
    scale: Annotated[
        int,
        Query(ge=1, le=8, examples=[4], description="Integer nearest-neighbour upscaling."),
        Digits,
    ] = 1,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """A PNG grid of n generated digits, white on black, 2-pixel gaps."""
    version = await resolve_model(registry, model)
    labels = labels_for_request(version, n, digit, digits)
    image = GridRequest.of(version, n, Seed.of(seed), labels, cols, scale)
    caching = cache_control(image.seed.given, model, settings)
    return await respond(request, image, renderer, caching, if_none_match)
