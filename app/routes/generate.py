"""GET /generate and GET /interpolate: generated digits as PNG grids, strips and GIFs."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Header, HTTPException, Query, Request, Response

from app.batching import Overloaded
from app.cache import etag, etag_matches
from app.deps import Digits, RegistryDep, RendererDep, SettingsDep, query_error, resolve_model
from app.generation import labels_for, noise_for, slerp
from app.imaging import ENCODING, default_cols, gif_bytes, grid_png
from app.names import REF_PATTERN
from app.registry import ModelVersion
from app.rendering import ClientGone, ImageSpec, Renderer

router = APIRouter(tags=["generate"])

ModelQuery = Annotated[
    str | None,
    Query(
        pattern=REF_PATTERN,
        examples=["dcgan", "cdcgan@4"],
        description="`name` (its active version) or `name@version`; default: the default model.",
    ),
]
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
IfNoneMatch = Annotated[
    str | None, Header(description="An ETag from an earlier response: 304 when it still matches.")
]


def _image_responses(media_type: str) -> dict:
    return {
        200: {
            "content": {media_type: {}},
            "description": f"The image ({media_type}). Headers: "
            "`X-Seed`, `X-Model` (name@version), `ETag`, `Cache-Control`.",
        },
        304: {"description": "Not modified: `If-None-Match` matched the ETag."},
        404: {"description": "Unknown model or version."},
        422: {"description": "A parameter is out of range or malformed."},
        503: {
            "description": "The generator has as much work queued as it takes on: retry after "
            "`Retry-After` seconds."
        },
    }


@router.get("/generate", response_class=Response, responses=_image_responses("image/png"))
async def generate(
    request: Request,
    registry: RegistryDep,
    renderer: RendererDep,
    settings: SettingsDep,
    n: Annotated[
        int, Query(ge=1, le=256, examples=[16], description="Number of digits."), Digits
    ] = 16,
    seed: SeedQuery = None,
    model: ModelQuery = None,
    digit: DigitQuery = None,
    digits: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9](,[0-9])*$",
            examples=["0,1,2,3,4,5,6,7,8,9"],
            description="Conditional models only: one digit per image, repeated to fill n. "
            "Without digit or digits a conditional grid cycles 0..9.",
        ),
    ] = None,
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
    labels = _labels(version, n, digit, digits)
    seeded, seed = seed is not None, seed if seed is not None else secrets.randbelow(2**32)
    cols = min(cols or default_cols(n), n)
    key = _key("grid", version, n, seed, _labels_key(labels), cols, scale)
    spec = ImageSpec(
        key,
        version,
        lambda: noise_for(seed, n, version.noise_dim),
        labels,
        partial(grid_png, cols=cols, scale=scale),
        "image/png",
        small=n * scale**2 <= 16,
    )
    return await _respond(
        request,
        spec,
        seed,
        seeded,
        renderer,
        _cache_control(seeded, model, settings),
        if_none_match,
    )


@router.get(
    "/interpolate",
    response_class=Response,
    responses=_image_responses("image/png")
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
    """Walk the latent space from seed A's noise to seed B's by spherical interpolation."""
    version = await resolve_model(registry, model)
    if digit is None and version.conditional:
        digit = 0
    labels = _labels(version, steps, digit, None)
    scale = scale or (4 if format == "gif" else 1)
    key = _key("interp", version, seed_a, seed_b, steps, _labels_key(labels), format, scale)

    def path() -> np.ndarray:
        a = noise_for(seed_a, 1, version.noise_dim)[0]
        return slerp(a, noise_for(seed_b, 1, version.noise_dim)[0], steps)

    encode = (
        partial(gif_bytes, scale=scale)
        if format == "gif"
        else partial(grid_png, cols=steps, scale=scale)
    )
    spec = ImageSpec(key, version, path, labels, encode, f"image/{format}")
    return await _respond(
        request, spec, seed_a, True, renderer, _cache_control(True, model, settings), if_none_match
    )


async def _respond(
    request: Request,
    spec: ImageSpec,
    seed: int,
    seeded: bool,
    renderer: Renderer,
    cache_control: str,
    if_none_match: str | None,
) -> Response:
    """304, or the rendered image with its caching headers; 503 when the queue is full."""
    headers = {
        "ETag": etag(spec.key),
        "Cache-Control": cache_control,
        "X-Seed": str(seed),
        "X-Model": spec.version.ref,
    }
    if if_none_match and etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    try:
        body = await renderer.render(spec, cacheable=seeded, gone=lambda: _disconnected(request))
    except Overloaded as exc:
        raise HTTPException(
            503,
            f"the generator is busy; retry after {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except ClientGone:
        return Response(status_code=499)  # nobody reads it; logs and metrics do
    return Response(body, media_type=spec.media_type, headers=headers)


def _cache_control(seeded: bool, model: str | None, settings) -> str:
    """A seeded image of `name@version` never changes; of `name` (or the default model), only
    until another version is activated; an unseeded one is never asked for again."""
    if not seeded:
        return "no-store"
    if model and "@" in model:
        return f"public, max-age={settings.cache_max_age}, immutable"
    return f"public, max-age={settings.cache_max_age_unpinned}"


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (a GET has no body to read first)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _labels(version: ModelVersion, n: int, digit: int | None, digits: str | None):
    """Labels for a conditional model; 422 when digits are asked of an unconditional one."""
    if not version.conditional:
        for name, value in (("digit", digit), ("digits", digits)):
            if value is not None:
                raise query_error(
                    name,
                    f"model {version.ref} is not conditional; "
                    "drop this parameter or pick a conditional model",
                )
        return None
    if digit is not None and digits is not None:
        raise query_error("digits", "give digit or digits, not both")
    return labels_for(n, digit, [int(d) for d in digits.split(",")] if digits else None)


def _key(kind: str, version: ModelVersion, *params) -> str:
    """The cache key and ETag source: equal keys, equal bytes (the fingerprint says on what)."""
    return "|".join(map(str, (kind, ENCODING, version.ref, version.fingerprint, *params)))


def _labels_key(labels: np.ndarray | None) -> str:
    return "-" if labels is None else ",".join(map(str, labels.tolist()))
