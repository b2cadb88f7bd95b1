"""What the image routes (/generate, /interpolate) share: query and header types, OpenAPI
responses, labels, and the response with its caching headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, HTTPException, Query, Request, Response

from app.api.deps import query_error
from app.api.errors import errors
from app.names import REF_PATTERN
from app.serving.batching import Overloaded
from app.serving.cache import etag, etag_matches
from app.serving.images import AnyImage
from app.serving.inputs import labels_for
from app.serving.registry import ModelVersion
from app.serving.renderer import ClientGone, Renderer

ModelQuery = Annotated[
    str | None,
    Query(
        pattern=REF_PATTERN,
        examples=["dcgan", "cdcgan@5"],
        description="`name` (its active version) or `name@version`; default: the default model.",
    ),
]
IfNoneMatch = Annotated[
    str | None, Header(description="An ETag from an earlier response: 304 when it still matches.")
]


def image_responses(media_type: str) -> dict:
    """The OpenAPI responses of an image route."""
    return {
        200: {
            "content": {media_type: {}},
            "description": f"The image ({media_type}). Headers: "
            "`X-Seed`, `X-Model` (name@version), `ETag`, `Cache-Control`.",
        },
        304: {"description": "Not modified: `If-None-Match` matched the ETag."},
    } | errors(
        {
            404: "Unknown model or version.",
            422: "A parameter is out of range or malformed: `detail` lists each.",
            503: "The generator has as much work queued as it takes on: retry after "
            "`Retry-After` seconds.",
        }
    )


async def respond(
    request: Request,
    image: AnyImage,
    renderer: Renderer,
    caching: str,
    if_none_match: str | None,
) -> Response:
    """304, or the rendered image with its caching headers; 503 when the queue is full."""
    headers = {
        "ETag": etag(image.key),
        "Cache-Control": caching,
        "X-Seed": str(image.seed.value),
        "X-Model": image.version.ref,
    }
    if if_none_match and etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    try:
        body = await renderer.render(
            image, cacheable=image.seed.given, gone=lambda: _disconnected(request)
        )
    except Overloaded as exc:
        raise HTTPException(
            503,
            f"the generator is busy; retry after {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except ClientGone:
        return Response(status_code=499)  # nobody reads it; logs and metrics do
    return Response(body, media_type=image.media_type, headers=headers)


def cache_control(seeded: bool, model: str | None, settings) -> str:
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


def labels_for_request(version: ModelVersion, n: int, digit: int | None, digits: str | None):
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
