"""GET /generate: n generated digits as a PNG grid."""

from __future__ import annotations

import secrets
from functools import partial
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
    cache_key,
    image_responses,
    labels_for_request,
    labels_key,
    respond,
)
from app.serving.encoding import default_cols, grid_png
from app.serving.inputs import noise_for
from app.serving.renderer import ImageSpec

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
    seeded, seed = seed is not None, seed if seed is not None else secrets.randbelow(2**32)
    cols = min(cols or default_cols(n), n)
    key = cache_key("grid", version, n, seed, labels_key(labels), cols, scale)
    spec = ImageSpec(
        key,
        version,
        lambda: noise_for(seed, n, version.noise_dim),
        labels,
        partial(grid_png, cols=cols, scale=scale),
        "image/png",
        small=n * scale**2 <= 16,
    )
    return await respond(
        request,
        spec,
        seed,
        seeded,
        renderer,
        cache_control(seeded, model, settings),
        if_none_match,
    )
