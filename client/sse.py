"""Server-Sent Events: a parser for the wire format and a stream that reconnects with
`Last-Event-ID`, so a dropped connection neither loses nor repeats an event."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

log = logging.getLogger("client")


@dataclass(frozen=True)
class Event:
    """One dispatched event: its id (None when the server gave none), type and data."""

    id: str | None
    event: str
    data: str

    def json(self) -> Any:
        """The data, decoded as JSON."""
        return json.loads(self.data)


class Retry:
    """Set by a `retry:` field: the server's reconnection delay, in seconds."""

    def __init__(self, seconds: float):
        self.seconds = seconds


def parse(lines: Iterable[str]) -> Iterator[Event | Retry]:
    """Events from decoded lines (any line ending), per the HTML spec's SSE rules.

    An event is dispatched only at the blank line that ends it, so one cut off by a dropped
    connection is discarded, and its id is never reported as seen.
    """
    kind, event_id = "", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Event(event_id, kind or "message", "\n".join(data))
            kind, data, event_id = "", [], None
            continue
        if line.startswith(":"):  # a comment, e.g. a keep-alive ping
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)
        elif field == "id" and "\0" not in value:
            event_id = value
        elif field == "retry" and value.isdigit():
            yield Retry(int(value) / 1000)


class Backoff(TypedDict, total=False):
    """How `stream` retries a dropped connection (its keyword arguments)."""

    delay: float
    max_delay: float
    max_retries: int


def stream(
    http: httpx.Client,
    path: str,
    after: str | None = None,
    is_final: Callable[[Event], bool] = lambda event: True,
    delay: float = 0.5,
    max_delay: float = 10.0,
    max_retries: int = 8,
) -> Iterator[Event]:
    """Every event of the stream at `path` after event id `after`, reconnecting when needed.

    Once connected, a transport error or a 5xx answer reconnects with `Last-Event-ID` (the id
    of the last complete event), waiting `delay` seconds and doubling the wait up to
    `max_delay`; it gives up after `max_retries` attempts in a row that brought no new event,
    raising the last error. A stream the server closes ends the iteration when
    `is_final(last event)` is true, else it reconnects too. A 4xx answer, or a transport
    error before the first connection, raises at once.
    """
    last: Event | None = None
    connected = False
    problem: Exception
    failures, wait = 0, delay
    while True:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if after is not None:
            headers["Last-Event-ID"] = after
        progressed = False
        try:
            with http.stream("GET", path, headers=headers) as response:
                connected = True
                if response.status_code < 500:
                    if response.status_code >= 300:
                        response.read()  # for the error's detail
                    response.raise_for_status()
                    for item in parse(response.iter_lines()):
                        if isinstance(item, Retry):
                            wait = delay = min(item.seconds, max_delay)
                            continue
                        last, progressed = item, True
                        after = item.id if item.id is not None else after
                        yield item
                    if last is not None and is_final(last):
                        return
                    problem = httpx.RemoteProtocolError("the stream ended before the job did")
                else:
                    problem = httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                    response.read()
        except httpx.TransportError as exc:
            if not connected:  # never reached: a wrong URL or a service that is down
                raise
            problem = exc
        if progressed:
            failures, wait = 0, delay
        failures += 1
        if failures > max_retries:
            raise problem
        log.info("reconnecting to %s after event %s in %.1f s (%s)", path, after, wait, problem)
        time.sleep(wait)
        wait = min(wait * 2, max_delay)
