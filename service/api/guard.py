"""The checks an API request passes before any of it is parsed: API key, content type, body size.

Each check raises `RequestError` with the status the client gets (401, 415, 413); nothing here reads more than
the body limit.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from service.api.asgi import Receive, Scope, header
from service.api.validation import RequestError

OPEN_PATHS = frozenset({"/livez", "/healthz", "/readyz", "/metrics", "/docs.json", "/"})  # no API key needed
OPEN_PREFIXES = ("/static_content/", "/assets/")
_JSON_TYPE = re.compile(r"^application/([a-z0-9.\-]+\+)?json$")


@dataclass(frozen=True)
class Guard:
    api_key: bytes | None  # None: no authentication
    max_body_bytes: int

    def authorized(self, scope: Scope) -> bool:
        """``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, compared in constant time."""
        if self.api_key is None:
            return True
        auth = header(scope, b"authorization")
        if auth is not None and auth[:7].lower() == b"bearer ":
            token = auth[7:].strip()
        else:
            token = header(scope, b"x-api-key") or b""
        return hmac.compare_digest(token, self.api_key)

    def is_open(self, path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)

    def check_content_type(self, scope: Scope) -> None:
        """JSON (``application/json`` or ``application/*+json``) in UTF-8, or no content type at all."""
        raw = header(scope, b"content-type")
        if raw is None:
            return  # BentoML reads a body without a content type as JSON
        ctype = raw.decode("latin-1").split(";")[0].strip().lower()
        if not _JSON_TYPE.match(ctype):
            raise RequestError(
                415, f"content type {ctype or '(empty)'!r} is not supported: send application/json", None, "media_type"
            )
        for param in raw.decode("latin-1").lower().split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key == "charset" and value.strip('"') not in ("utf-8", "utf8"):
                raise RequestError(415, f"charset {value!r} is not supported: send UTF-8", None, "media_type")

    async def read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole body, refused (413) on a declared ``Content-Length`` over the limit or once more arrived."""
        limit = self.max_body_bytes
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(
                413, f"request body is {int(declared)} bytes, the limit is {limit} bytes", None, "body_too_large"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "client disconnected before sending the whole body", None, "disconnect")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"request body exceeds the limit of {limit} bytes", None, "body_too_large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
