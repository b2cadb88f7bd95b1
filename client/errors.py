"""How a failed request reads: one line, the service's own words where it gave some."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx


class ApiError(Exception):
    """A failed request, as one line: `status` is the HTTP status, None when unreachable."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def error_message(response: httpx.Response) -> str:
    """One line for an error answer: its JSON `detail`, a 422 list as `loc: msg; ...`."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = None
    if isinstance(detail, list):
        detail = "; ".join(_problem(item) for item in detail)
    elif detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail)
    text = f"{detail or response.reason_phrase or 'error'} (HTTP {response.status_code})"
    return " ".join(text.split())


def _problem(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = ".".join(str(part) for part in item.get("loc", ()))
    return f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", item))


def transport_reason(exc: httpx.TransportError) -> str:
    """'connection refused', 'timed out', ...: a transport error in a few lowercase words."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
    return " ".join((text[:1].lower() + text[1:]).split())
