"""A small synchronous client for the dcgan-digits HTTP API, built on httpx."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from client import sse

log = logging.getLogger("client")
DEFAULT_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A failed request, as one line: `status` is the HTTP status, None when unreachable."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Image:
    """An image answer: its bytes, media type, and the `X-Seed` and `X-Model` headers."""

    content: bytes
    media_type: str
    seed: int | None
    model: str | None


@dataclass(frozen=True)
class JobEvent:
    """One event of a job's stream: id (1, 2, ...), kind (`state`, `epoch`, ...) and data."""

    id: int
    kind: str
    data: dict


class Client:
    """The service at `url` (else $DCGAN_URL, else 127.0.0.1:8000), with a bearer `token`
    (else $DCGAN_API_TOKEN) sent when there is one. Every failure raises `ApiError`."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60.0):
        self.url = (url or os.environ.get("DCGAN_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("DCGAN_API_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        except httpx.InvalidURL as exc:
            raise ApiError(f"invalid URL {self.url!r}: {exc}") from None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def generate(
        self,
        n: int | None = None,
        seed: int | None = None,
        model: str | None = None,
        digit: int | None = None,
        digits: str | Sequence[int] | None = None,
        cols: int | None = None,
        scale: int | None = None,
    ) -> Image:
        """A PNG grid of generated digits (GET /generate); None leaves the server's default."""
        if digits is not None and not isinstance(digits, str):
            digits = ",".join(map(str, digits))
        params = dict(n=n, seed=seed, model=model, digit=digit, digits=digits, cols=cols)
        return self._image("/generate", **params, scale=scale)

    def interpolate(
        self,
        seed_a: int,
        seed_b: int,
        steps: int | None = None,
        model: str | None = None,
        digit: int | None = None,
        format: str | None = None,
        scale: int | None = None,
    ) -> Image:
        """A latent walk from seed A to seed B: a PNG strip or a GIF (GET /interpolate)."""
        params = dict(seed_a=seed_a, seed_b=seed_b, steps=steps, model=model, digit=digit)
        return self._image("/interpolate", **params, format=format, scale=scale)

    def models(self) -> dict:
        """Every served model with its versions and their model.json (GET /models)."""
        return self._request("GET", "/models").json()

    def model(self, name: str) -> dict:
        """One model with its versions (GET /models/{name})."""
        return self._request("GET", f"/models/{name}").json()

    def create_job(self, name: str, **fields: Any) -> dict:
        """Queue a training job (POST /jobs); fields left None take the server's default."""
        body = {"name": name, **{k: v for k, v in fields.items() if v is not None}}
        return self._request("POST", "/jobs", json=body).json()

    def list_jobs(self, limit: int | None = None, offset: int | None = None) -> dict:
        """A page of jobs, newest first: {jobs, total, limit, offset} (GET /jobs)."""
        return self._request("GET", "/jobs", params=_given(limit=limit, offset=offset)).json()

    def get_job(self, job_id: int) -> dict:
        """One job (GET /jobs/{id})."""
        return self._request("GET", f"/jobs/{job_id}").json()

    def cancel_job(self, job_id: int) -> dict:
        """Cancel a queued or running job (POST /jobs/{id}/cancel)."""
        return self._request("POST", f"/jobs/{job_id}/cancel").json()

    def resume_job(self, job_id: int) -> dict:
        """Queue a cancelled, failed or interrupted job again (POST /jobs/{id}/resume)."""
        return self._request("POST", f"/jobs/{job_id}/resume").json()

    def progress_gif(self, job_id: int) -> bytes:
        """The job's per-epoch sample grids as an animated GIF (GET /jobs/{id}/progress.gif)."""
        return self._request("GET", f"/jobs/{job_id}/progress.gif").content

    def sample(self, job_id: int, epoch: int) -> bytes:
        """The PNG grid drawn after one epoch (GET /jobs/{id}/samples/{epoch}.png)."""
        return self._request("GET", f"/jobs/{job_id}/samples/{epoch}.png").content

    def events(self, job_id: int, after: int = 0, **retry: float) -> Iterator[JobEvent]:
        """The job's events after id `after`, live until the job ends (GET /jobs/{id}/events).

        A dropped connection is resumed with `Last-Event-ID`: no event is lost or repeated.
        `retry` passes `delay`, `max_delay` and `max_retries` on to `sse.stream`.
        """
        path = f"/jobs/{job_id}/events"
        try:
            for event in sse.stream(
                self._http, path, str(after) if after else None, _final, **retry
            ):
                yield JobEvent(int(event.id or 0), event.event, event.json())
        except httpx.HTTPStatusError as exc:
            raise ApiError(error_message(exc.response), exc.response.status_code) from None
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {_reason(exc)}") from None

    def _image(self, path: str, **params: Any) -> Image:
        response = self._request("GET", path, params=_given(**params))
        seed = response.headers.get("x-seed")
        return Image(
            response.content,
            response.headers.get("content-type", ""),
            int(seed) if seed and seed.isdigit() else None,
            response.headers.get("x-model"),
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {_reason(exc)}") from None
        log.debug("%s %s -> %d", method, response.url, response.status_code)
        if response.status_code >= 400:
            raise ApiError(error_message(response), response.status_code)
        return response


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


def _reason(exc: httpx.TransportError) -> str:
    """'connection refused', 'timed out', ...: a transport error in a few lowercase words."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
    return " ".join((text[:1].lower() + text[1:]).split())


def _given(**params: Any) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def _final(event: sse.Event) -> bool:
    return event.event == "state" and bool(event.json().get("finished"))
