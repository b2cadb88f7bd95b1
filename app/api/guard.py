"""Checks that run before any request body is read: the bearer token of requests that change
something (POST, DELETE, ...) and a size limit on bodies. A request without the token is
refused before it can make the service read, parse or hold a byte of its body."""

from __future__ import annotations

import hmac
import json

from starlette.routing import Match

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def token_ok(expected: str | None, authorization: str | None) -> bool:
    """`Authorization: Bearer <expected>` (constant-time), or no token configured."""
    if expected is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


def routed(scope) -> bool:
    """Some route of the app takes this method at this path (asked of its router: FastAPI nests
    included routers, so no flat route list shows them)."""
    probe = dict(scope)  # matching may note things in the scope it is given
    return any(route.matches(probe)[0] is Match.FULL for route in scope["app"].router.routes)


def methods_at(scope) -> set[str]:
    """The methods the app's routes take at the request's path."""
    return {method for method in METHODS if routed({**scope, "method": method})}


class _TooLarge(Exception):
    pass


class Guard:
    def __init__(self, app, settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        # An unknown path or method is routing's 404 or 405 whatever the token: neither reads
        # the body, and a 401 would send a client looking for the wrong mistake.
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or not routed(scope):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not token_ok(self.settings.api_token, headers.get("authorization")):
            return await _refuse(send, 401, "missing or wrong bearer token", bearer=True)
        limit = self.settings.max_body_bytes
        if int(headers.get("content-length") or 0) > limit:
            return await _refuse(send, 413, f"the body is over {limit} bytes")
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, f"the body is over {limit} bytes")


async def _refuse(send, status: int, detail: str, bearer: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
