"""The browser page: GET / (index.html) and its files under /static/ (plain HTML, CSS, JS)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "static"
# Everything the page loads comes from this service: no CDN, no inline scripts or styles.
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Revalidate on every load (ETag, 304), so a new release's page is never served stale.
REVALIDATE = {"Cache-Control": "no-cache", "Content-Security-Policy": CSP}

router = APIRouter(include_in_schema=False)


class _Static(StaticFiles):
    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers.update(REVALIDATE)
        return response


@router.get("/")
async def index() -> FileResponse:
    """The page: generate and walk digits, see and compare models, start and follow jobs."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=REVALIDATE)


router.mount("/static", _Static(directory=STATIC), name="static")
