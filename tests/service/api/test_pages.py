"""The pages' files and their answers (service/api/pages.py), through the ASGI callable, without a server: what is
served where, the Content-Security-Policy, ETags, refusals; and the static files themselves hold no inline script or
style and name no other host (what the CSP would block, found before a browser does)."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from service.api import pages
from service.api.validation import RequestError


def get(path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "headers": headers or []}
    asyncio.run(pages.Pages()(scope, send))
    start, body = sent
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body["body"]}


def csp_directives(value: bytes) -> dict[str, list[str]]:
    out = {}
    for part in value.decode().split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


@pytest.mark.parametrize(
    ("path", "ctype", "marker"),
    [
        ("/", b"text/html; charset=utf-8", b'<script src="/static/playground.js"'),
        ("/docs", b"text/html; charset=utf-8", b'<script src="/static/swagger/swagger-ui-bundle.js"'),
        ("/static/playground.js", b"text/javascript; charset=utf-8", b'call("POST", "/predict"'),
        ("/static/playground.css", b"text/css; charset=utf-8", b".token"),
        ("/static/favicon.svg", b"image/svg+xml", b"<svg"),
        ("/static/swagger/swagger-ui-bundle.js", b"text/javascript; charset=utf-8", b"SwaggerUIBundle"),
        ("/static/swagger/swagger-ui.css", b"text/css; charset=utf-8", b".swagger-ui"),
    ],
)
def test_each_file_is_served_with_its_type_and_the_csp(path: str, ctype: bytes, marker: bytes):
    r = get(path)
    assert r["status"] == 200 and r["headers"][b"content-type"] == ctype
    assert marker in r["body"]
    assert int(r["headers"][b"content-length"]) == len(r["body"])
    csp = csp_directives(r["headers"][b"content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src", "font-src"):
        assert csp[directive] == ["'self'"], directive  # no other host, no 'unsafe-inline', no 'unsafe-eval'
    assert csp["img-src"] == ["'self'", "data:"] and csp["frame-ancestors"] == ["'none'"]
    assert r["headers"][b"x-content-type-options"] == b"nosniff"


def test_head_and_a_matching_etag_answer_no_body():
    r = get("/")
    assert get("/", "HEAD")["body"] == b"" and get("/", "HEAD")["headers"][b"etag"] == r["headers"][b"etag"]
    cached = get("/", headers=[(b"if-none-match", r["headers"][b"etag"])])
    assert cached["status"] == 304 and cached["body"] == b""
    assert get("/", headers=[(b"if-none-match", b'"stale"')])["status"] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.js",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/playground.html",  # pages only at their own paths
        "/static/swagger/swagger-initializer.js",  # BentoML's: not used, not served
        "/static/swagger/../../settings.py",
        "/static/",
    ],
)
def test_unknown_files_are_404_and_no_path_reaches_the_disk(path: str):
    with pytest.raises(RequestError) as e:
        get(path)
    assert e.value.status == 404 and e.value.message == f"no such file: {path}"


def test_other_methods_are_405_with_allow():
    with pytest.raises(RequestError) as e:
        get("/docs", "POST")
    assert e.value.status == 405 and e.value.headers == [(b"allow", b"GET, HEAD")]


def test_serves_only_the_pages_and_static_paths():
    assert pages.serves("/") and pages.serves("/docs") and pages.serves("/static/x.js")
    assert not any(pages.serves(p) for p in ("/docs.json", "/predict", "/model", "/static_content/x", "/docs/"))


class Inline(HTMLParser):
    """Inline scripts, inline styles, event-handler attributes and absolute URLs of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.refs: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and "src" not in a:
            self._in_script = True
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("src", "href", "action") and value is not None:
                self.refs.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script {data.strip()[:40]!r}")


@pytest.mark.parametrize("name", sorted(pages.PAGES.values()))
def test_pages_have_no_inline_script_or_style_and_link_only_this_server(name: str):
    parser = Inline()
    parser.feed((pages.STATIC_DIR / name).read_text())
    assert parser.found == []
    local = [r for r in parser.refs if r.startswith(("/", "#")) and not r.startswith("//")]  # this origin
    assert parser.refs and local == parser.refs, parser.refs


@pytest.mark.parametrize("path", sorted(p.name for p in pages.STATIC_DIR.iterdir()))
def test_our_static_files_name_no_other_host(path: str):
    text = (pages.STATIC_DIR / path).read_text()
    text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # an XML namespace name, never fetched
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE) == []
