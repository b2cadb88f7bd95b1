"""The one shape of every error answer, `{"detail": ...}`: its model for the OpenAPI schema, and
the handlers that answer HTTP errors and invalid requests in plain words (no regex, no
pydantic prefixes, a 405 that lists every method of the path)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import PATTERN_RULES
from app.api.guard import methods_at

# Descriptions of the errors many routes share, for errors().
AUTH = {401: "Missing or wrong bearer token."}
INVALID = {422: "A parameter or field is missing, out of range or malformed: `detail` lists each."}


class Problem(BaseModel):
    """One thing wrong with a request."""

    type: str = Field(description="The kind of problem, for programs.", examples=["missing"])
    loc: list[str | int] = Field(
        description="Where: `query`, `path`, `header` or `body`, then the parameter or field.",
        examples=[["query", "n"]],
    )
    msg: str = Field(
        description="What was wrong and what is allowed, in words.",
        examples=["n must be at least 1"],
    )


class Error(BaseModel):
    """Every error answer: a sentence, or (422) one problem per wrong parameter or field."""

    detail: str | list[Problem] = Field(examples=["what was wrong, in words"])


def ok_response(media_type: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 response of a route that answers `media_type` (errors() adds the rest)."""
    return {200: {"content": {media_type: {}}}}


def errors(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each answered with the Error model."""
    return {status: {"model": Error, "description": text} for status, text in descriptions.items()}


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's 405 lists the methods of the first route of the path only (GET /jobs and
    POST /jobs are two routes): list all of them. Routing's own 404 and 405 say it in words."""
    headers, detail = dict(exc.headers or {}), exc.detail
    if exc.status_code == 405:
        allowed = ", ".join(sorted(methods_at(request.scope)))
        headers["Allow"] = allowed
        detail = f"{request.url.path} takes {allowed}, not {request.method}"
    elif exc.status_code == 404 and detail == "Not Found":
        detail = f"nothing is at {request.url.path}; /docs lists what is"
    return JSONResponse({"detail": detail}, exc.status_code, headers=headers)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one problem in words per pydantic error, keeping its type and location."""
    problems = [
        {"type": e["type"], "loc": list(e["loc"]), "msg": sentence(e)} for e in exc.errors()
    ]
    return JSONResponse({"detail": problems}, 422)


# pydantic's error types whose message needs only the parameter's name and the error's context.
_SENTENCES = {
    "missing": "{name} is required",
    "extra_forbidden": "{name} is not a known field (/docs lists the fields)",
    "greater_than_equal": "{name} must be at least {ge}",
    "greater_than": "{name} must be more than {gt}",
    "less_than_equal": "{name} must be at most {le}",
    "less_than": "{name} must be less than {lt}",
    "int_type": "{name} must be a whole number",
    "int_parsing": "{name} must be a whole number",
    "int_from_float": "{name} must be a whole number",
    "float_type": "{name} must be a number",
    "float_parsing": "{name} must be a number",
    "finite_number": "{name} must be a finite number",
    "bool_type": "{name} must be true or false",
    "bool_parsing": "{name} must be true or false",
    "string_type": "{name} must be a string",
    "string_too_long": "{name} must be at most {max_length} characters",
    "literal_error": "{name} must be {expected}",
    "enum": "{name} must be {expected}",
    "model_type": "{name} must be a JSON object",
    "model_attributes_type": "{name} must be a JSON object",
    "dict_type": "{name} must be a JSON object",
    "json_invalid": "the body is not valid JSON ({error})",
}


def sentence(error: dict) -> str:
    """A pydantic error as a sentence that names the parameter and says what it allows."""
    name, ctx, kind = _name(error["loc"]), error.get("ctx") or {}, error["type"]
    if kind == "string_pattern_mismatch":
        return f"{name} must be {PATTERN_RULES.get(str(ctx.get('pattern')), 'as /docs describes')}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return f"{name} {ctx['error']}"
    if kind in _SENTENCES:
        try:
            return _SENTENCES[kind].format(name=name, **ctx)
        except KeyError:
            pass
    message = error["msg"]
    if message.startswith("Input should"):
        return f"{name} should{message.removeprefix('Input should')}"
    return f"{name}: {message}"


def _name(loc: tuple | list) -> str:
    """How a sentence names a location: `n`, `epochs`, `the last-event-id header`, `the body`."""
    where, *path = loc
    if where == "header" and path:
        return f"the {path[0]} header"
    fields = [str(part) for part in path if isinstance(part, str)]
    if where == "body":
        return ".".join(fields) or "the body"
    return fields[0] if fields else str(where)
