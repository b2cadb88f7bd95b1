"""Log lines as plain text (the default) or one JSON object a line (DCGAN_LOG_FORMAT=json), with
the id of the request or job they were written for; and `redact`, what a message shown to clients
may say of server paths.

Ids travel in context variables: the RequestId middleware sets the request's for everything that
request runs (tasks and threads started from it copy it), and `job_context(job_id)` sets a job's
for the runner's lines about it. uvicorn's own lines, the access log included, are formatted the
same way through `uvicorn_log_config`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id: ContextVar[int | None] = ContextVar("job_id", default=None)

# What a client or proxy may pass as its own id (UUIDs, nginx's $request_id, trace ids); anything
# else is replaced, so a log line never carries a client's arbitrary text as an id.
SANE_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
# Absolute, ./ or ../ relative, or with two slashes or more: a path, not a ratio like 3/4.
_PATH = re.compile(r"(?:(?<![\w.])/|\.\.?/|\b[\w.+-]+/(?=[\w.+-]+/))(?:[\w.+-]+/)*([\w.+-]+)")


def redact(text: str) -> str:
    """Paths reduced to their last part: answers without a token never show server paths."""
    return _PATH.sub(r"…/\1", text)


@contextlib.contextmanager
def job_context(job: int) -> Iterator[None]:
    """Log lines written inside carry `job_id` (JSON logs)."""
    token = job_id.set(job)
    try:
        yield
    finally:
        job_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, and the request and job ids
    when set; uvicorn's access lines add client, method, path and status."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (rid := request_id.get()) is not None:
            entry["request_id"] = rid
        if (jid := job_id.get()) is not None:
            entry["job_id"] = jid
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _, status = args  # and the HTTP version
            entry |= {"client": client, "method": method, "path": path, "status": status}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_handler(log_format: str, text_format: str) -> logging.Handler:
    """A stderr handler writing `log_format` ("text": `text_format`, or "json") lines."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(text_format))
    return handler


def uvicorn_log_config(log_format: str) -> dict:
    """uvicorn's logging configuration; for "json", JsonFormatter and stderr for all its lines
    (uvicorn writes its access lines to stdout), so one stream holds every JSON line."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": f"{__name__}.JsonFormatter"}
        for handler in config["handlers"].values():
            handler["stream"] = "ext://sys.stderr"
    return config


class RequestId:
    """ASGI middleware: the request's `X-Request-ID` when it is a sane one, else a new id, set for
    the request's log lines and echoed on its answer. An exception that escapes before an answer
    started is answered here, as a JSON 500 with the id (outer middleware would answer without)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        given = given.decode("latin-1")
        rid = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        header = (b"x-request-id", rid.encode())
        started = False

        async def send_with_id(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not started:
                await _internal_error(send_with_id, rid)
            raise  # with the id still set: uvicorn's traceback line carries it
        request_id.reset(token)


async def _internal_error(send, rid: str) -> None:
    body = json.dumps({"detail": f"internal error (request {rid})"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
