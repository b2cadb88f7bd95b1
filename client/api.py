"""A small synchronous client for the dcgan-digits HTTP API, built on httpx."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Unpack

import httpx

from client import sse
from client.errors import ApiError, error_message, transport_reason

log = logging.getLogger("client")
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Image:
    """An image answer: its bytes, media type, and the `X-Seed` and `X-Model` headers."""

    content: bytes
    media_type: str
    seed: int | None
    model: str | None


@dataclass(frozen=True)
class Download:
    """A download under way: the file name the server gives it, and its bytes as they come."""

    filename: str
    chunks: Iterator[bytes]


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
        params = dict(n=n, seed=seed, model=model, digit=digit, digits=_listed(digits), cols=cols)
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

    def noise(
        self,
        n: int | None = None,
        seed: int | None = None,
        model: str | None = None,
        digit: int | None = None,
        digits: str | Sequence[int] | None = None,
    ) -> dict:
        """The generator inputs behind /generate's images for these parameters (GET /noise):
        {model, seed, inputs: {noise, labels (conditional models)}}."""
        params = _given(n=n, seed=seed, model=model, digit=digit, digits=_listed(digits))
        return self._request("GET", "/noise", params=params).json()

    def activate_model(self, name: str, version: int) -> dict:
        """Serve this version for its name from now on (POST /models/{name}/{version}/activate)."""
        return self._request("POST", f"/models/{name}/{version}/activate").json()

    def delete_model(self, name: str, version: int) -> None:
        """Unload a version and delete its folder (DELETE /models/{name}/{version})."""
        self._request("DELETE", f"/models/{name}/{version}")

    @contextmanager
    def download_model(self, name: str, version: int) -> Iterator[Download]:
        """The version's folder as a .tar.gz, streamed (GET /models/{name}/{version}/download)."""
        path = f"/models/{name}/{version}/download"
        with self._errors(), self._http.stream("GET", path) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(error_message(response), response.status_code)
            disposition = response.headers.get("content-disposition", "")
            found = re.search(r'filename="?([^";/\\]+)"?', disposition)
            yield Download(
                found.group(1) if found else f"{name}-{version}.tar.gz", self._chunks(response)
            )

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

    def delete_job(self, job_id: int) -> None:
        """Delete a finished job, its events and files, not its model (DELETE /jobs/{id})."""
        self._request("DELETE", f"/jobs/{job_id}")

    def progress_gif(self, job_id: int) -> bytes:
        """The job's per-epoch sample grids as an animated GIF (GET /jobs/{id}/progress.gif)."""
        return self._request("GET", f"/jobs/{job_id}/progress.gif").content

    def sample(self, job_id: int, epoch: int) -> bytes:
        """The PNG grid drawn after one epoch (GET /jobs/{id}/samples/{epoch}.png)."""
        return self._request("GET", f"/jobs/{job_id}/samples/{epoch}.png").content

    def events(
        self, job_id: int, after: int = 0, **retry: Unpack[sse.Backoff]
    ) -> Iterator[JobEvent]:
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
            raise ApiError(f"cannot reach {self.url}: {transport_reason(exc)}") from None

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
        with self._errors():
            response = self._http.request(method, path, **kwargs)
        log.debug("%s %s -> %d", method, response.url, response.status_code)
        if response.status_code >= 400:
            raise ApiError(error_message(response), response.status_code)
        return response

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A transport error as an ApiError."""
        try:
            yield
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {transport_reason(exc)}") from None

    def _chunks(self, response: httpx.Response) -> Iterator[bytes]:
        with self._errors():
            yield from response.iter_bytes()


def _listed(digits: str | Sequence[int] | None) -> str | None:
    """3,1,4 for [3, 1, 4]."""
    return digits if digits is None or isinstance(digits, str) else ",".join(map(str, digits))


def _given(**params: Any) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def _final(event: sse.Event) -> bool:
    return event.event == "state" and bool(event.json().get("finished"))
