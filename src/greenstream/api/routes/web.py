"""The dashboard page and its assets (``greenstream.web``'s built bundle) at ``/``.

The page may load nothing from elsewhere: the Content-Security-Policy allows this origin only
(plus ``blob:`` workers and ``data:`` images, which MapLibre and deck.gl make in the page), so a
stray URL to a CDN or a tile server fails loudly in the browser instead of leaking requests.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import FileResponse

from greenstream.api.errors import ApiError
from greenstream.web import dist_dir

router = APIRouter(include_in_schema=False)

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; child-src blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/")
def index() -> Any:
    page = dist_dir() / "index.html"
    if not page.is_file():
        raise ApiError("NotFound", "the dashboard is not built: run `make web`")
    return FileResponse(
        page, media_type="text/html", headers={**HEADERS, "Cache-Control": "no-cache"}
    )


@router.get("/assets/{name:path}")
def asset(name: str) -> Any:
    root = (dist_dir() / "assets").resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ApiError("NotFound", f"no asset {name!r}")
    # Vite's file names (directly in assets/) carry a content hash: kept for a year; the
    # basemap files keep their names: revalidated (ETag)
    hashed = path.parent == root
    cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
    return FileResponse(
        path, media_type=_MEDIA.get(path.suffix), headers={**HEADERS, "Cache-Control": cache}
    )


# module scripts and workers need a JavaScript type, which the platform's table may not know
_MEDIA: Final = {".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json"}
