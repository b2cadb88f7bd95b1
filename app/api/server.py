"""`dcgan-serve`: uvicorn with the service's limits, and the HTTP protocol that enforces them.

uvicorn bounds idle keep-alive connections but not a client that sends its headers slowly: a
few thousand half-sent requests would hold every file descriptor. HttpProtocol closes a
connection whose request headers are not complete within `header_timeout` seconds of the
connection or of the request's first byte. `--limit-concurrency` answers 503 beyond so many
connections and requests at once.
"""

from __future__ import annotations

import argparse

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings
from app.logs import uvicorn_log_config


class HttpProtocol(HttpToolsProtocol):
    header_timeout: float | None = None  # from Settings, read in each worker process once

    def connection_made(self, transport) -> None:
        if HttpProtocol.header_timeout is None:
            HttpProtocol.header_timeout = Settings().header_timeout
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._restart_header_timer()

    def on_headers_complete(self) -> None:
        self._header_timer.cancel()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def _restart_header_timer(self) -> None:
        self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def serve(argv: list[str] | None = None) -> None:
    """dcgan-serve: uvicorn with the settings' address, workers and limits."""
    import uvicorn

    settings = Settings()
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
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_format),
        access_log=settings.access_log,
        http=HttpProtocol,
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.keep_alive_timeout,
        # then open streams (SSE followers) are closed; a running trainer still gets its time
        # to checkpoint in the shutdown that follows
        timeout_graceful_shutdown=settings.graceful_timeout,
    )


if __name__ == "__main__":
    serve()
