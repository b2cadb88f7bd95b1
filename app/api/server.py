"""`dcgan-serve`: uvicorn with the service's limits, and the HTTP protocol that enforces them.

uvicorn bounds idle keep-alive connections but not a client that sends its headers slowly: a
few thousand half-sent requests would hold every file descriptor. HttpProtocol closes a
connection whose request headers are not complete within `header_timeout` seconds of the
connection or of the request's first byte. `--limit-concurrency` answers 503 beyond so many
connections and requests at once.

HttpProtocol extends uvicorn's HttpToolsProtocol, which is not public API: pyproject.toml pins
the uvicorn versions it was tested with, and where that class is missing or lacks a method it
extends, dcgan-serve logs one warning and serves with uvicorn's own protocol instead.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import logging.config
from types import ModuleType
from typing import TYPE_CHECKING

from app.config import Settings, read_settings
from app.logs import uvicorn_log_config

# What HeaderTimeout overrides: asyncio.Protocol's connection callbacks and httptools' parser
# callbacks, which uvicorn's HttpToolsProtocol implements. Its other internals go unused.
HOOKS = ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete")


if TYPE_CHECKING:  # what the mixin is checked against; at run time it is given its base
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
else:
    _Base = object


class HeaderTimeout(_Base):
    """Mixed into uvicorn's HttpToolsProtocol, a private class (see http_protocol)."""

    header_timeout: float | None = None  # from Settings, read in each worker process once

    def connection_made(self, transport) -> None:
        if HeaderTimeout.header_timeout is None:
            HeaderTimeout.header_timeout = Settings().header_timeout
        super().connection_made(transport)
        self._header_transport = transport
        self._header_timer = self._start_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_timer.cancel()
        self._header_timer = self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._header_timer.cancel()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def _start_header_timer(self) -> asyncio.TimerHandle:
        assert self.header_timeout is not None  # set by connection_made
        return asyncio.get_running_loop().call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        if not self._header_transport.is_closing():
            self._header_transport.close()


def http_protocol(httptools_impl: ModuleType | None) -> type | None:
    """HeaderTimeout over `httptools_impl.HttpToolsProtocol`; None when that module or class is
    missing (uvicorn without httptools) or the class lacks a method HeaderTimeout extends (a
    uvicorn outside pyproject's tested range): then dcgan-serve uses uvicorn's own protocol."""
    base = getattr(httptools_impl, "HttpToolsProtocol", None)
    if not isinstance(base, type) or not all(callable(getattr(base, h, None)) for h in HOOKS):
        return None
    return type("HttpProtocol", (HeaderTimeout, base), {"__module__": __name__})


def _httptools_impl() -> ModuleType | None:
    try:
        return importlib.import_module("uvicorn.protocols.http.httptools_impl")
    except ImportError:
        return None


# At module level, so that uvicorn's worker processes (--workers) unpickle it by name.
HttpProtocol = http_protocol(_httptools_impl())


def serve(argv: list[str] | None = None) -> None:
    """dcgan-serve: uvicorn with the settings' address, workers and limits."""
    import uvicorn

    settings = read_settings("dcgan-serve")
    parser = argparse.ArgumentParser(prog="dcgan-serve", description="Serve dcgan-digits.")
    parser.add_argument("--host", default=settings.host, help=f"default: {settings.host}")
    parser.add_argument("--port", type=int, default=settings.port, help=f"default: {settings.port}")
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.workers,
        help=f"processes, each with its own models (default: {settings.workers})",
    )
    args = parser.parse_args(argv)
    log_config = uvicorn_log_config(settings.log_format)
    if HttpProtocol is None:
        logging.config.dictConfig(log_config)
        logging.getLogger("uvicorn.error").warning(
            "uvicorn %s has no HttpToolsProtocol that dcgan-serve can extend: serving with "
            "uvicorn's own protocol, without DCGAN_HEADER_TIMEOUT (pyproject.toml has the "
            "tested uvicorn versions)",
            uvicorn.__version__,
        )
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=log_config,
        access_log=settings.access_log,
        http=HttpProtocol or "auto",
        limit_concurrency=settings.limit_concurrency,
        # uvicorn's hints say int; it hands these to call_later, which takes fractions
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        # then open streams (SSE followers) are closed; a running trainer still gets its time
        # to checkpoint in the shutdown that follows
        timeout_graceful_shutdown=settings.graceful_timeout,  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    serve()
