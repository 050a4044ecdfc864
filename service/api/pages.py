"""The pages a person opens in a browser, and every file they load, all from this server (no CDN, no tracker):

* ``GET /``: the playground (service/api/static/playground.*): classify tweets, see token attributions, the model;
* ``GET /docs``: the API docs (Swagger UI on ``/docs.json``), Swagger UI's files taken from the bentoml wheel
  (service/api/bentoml_adapter.py) and served under ``/static/swagger/`` (BentoML's own docs page, which this
  replaces at ``/``, loads Google Tag Manager);
* ``GET /static/<file>``: the pages' own scripts, styles and icon.

Every answer carries a Content-Security-Policy that lets a page load scripts, styles, fonts and connections from
this origin only (no inline script or style, no other host), and is open (no API key: the page asks for one when
the API answers 401).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from service.api import errors
from service.api.asgi import Scope, Send, header
from service.api.bentoml_adapter import SWAGGER_FILES, swagger_ui_dir
from service.api.validation import RequestError

STATIC_DIR = Path(__file__).parent / "static"
PAGES = {"/": "playground.html", "/docs": "docs.html"}
STATIC_PREFIX = "/static/"
SWAGGER_PREFIX = "/static/swagger/"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Swagger UI's icons are data: SVGs inside its stylesheet
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
}
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),  # revalidated with the ETag: a new release is seen at once
]


def serves(path: str) -> bool:
    """Whether `path` is one of the pages or their files (answered here, before the API key check)."""
    return path in PAGES or path.startswith(STATIC_PREFIX)


def locate(path: str) -> Path | None:
    """The file behind `path`, or None: a page, one of Swagger UI's files, or a file of the static folder."""
    if path in PAGES:
        return STATIC_DIR / PAGES[path]
    if path.startswith(SWAGGER_PREFIX):
        name = path.removeprefix(SWAGGER_PREFIX)
        return swagger_ui_dir() / name if name in SWAGGER_FILES else None
    name = path.removeprefix(STATIC_PREFIX)
    own = {p.name for p in STATIC_DIR.iterdir() if p.suffix in CONTENT_TYPES and p.suffix != ".html"}
    return STATIC_DIR / name if name in own else None  # names only: no path from the request reaches the disk


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: bytes
    etag: bytes

    @classmethod
    def read(cls, path: Path) -> StaticFile:
        body = path.read_bytes()
        return cls(body, CONTENT_TYPES[path.suffix], b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"')


class Pages:
    """Answers `serves(path)` requests from memory (each file read once per worker, on its first request)."""

    def __init__(self) -> None:
        self.files: dict[str, StaticFile] = {}

    def file(self, path: str) -> StaticFile:
        if path not in self.files:
            found = locate(path)
            if found is None or not found.is_file():
                raise RequestError(404, f"no such file: {path}", None, "not_found")
            self.files[path] = StaticFile.read(found)
        return self.files[path]

    async def __call__(self, scope: Scope, send: Send) -> int:
        """The file, with its content type, ETag and the security headers (304 when the client has it). Returns
        the status."""
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            raise errors.method_not_allowed(scope["path"], method, "GET, HEAD")
        f = self.file(scope["path"])
        fresh = header(scope, b"if-none-match") == f.etag
        status = 304 if fresh else 200
        headers = [(b"etag", f.etag), *SECURITY_HEADERS]
        if not fresh:
            headers += [(b"content-type", f.content_type), (b"content-length", str(len(f.body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        body = b"" if fresh or method == "HEAD" else f.body
        await send({"type": "http.response.body", "body": body})
        return status
