"""Every HTML page the server sends (the playground at ``/``, the API docs at ``/docs``) and everything they link,
fetched from a real `sentiment serve` and followed (pages, scripts, styles, icons, the OpenAPI document): none refers
to a host other than the server's own, every one answers 200, and each HTML page carries the CSP.

What counts as a reference: ``src``/``href``/``action`` of HTML and SVG, ``url()``/``@import`` of CSS, every absolute
URL of the JSON document (Swagger UI renders its markdown, links and images included), and every absolute URL in
the pages' own scripts. Swagger UI's bundle (from the bentoml wheel) holds URL constants of the libraries it bundles
(its validator badge, which docs.js switches off, linkify's hashtag hosts, ...): what a browser actually requests
from it is checked in tests/loadtests/test_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

pytestmark = pytest.mark.slow

VENDOR = "/static/swagger/"  # Swagger UI's files, as shipped in the bentoml wheel
ABSOLUTE = re.compile(r"""(?:https?:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s"'`)<>]*""", re.IGNORECASE)
CSS_REF = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # XML names, never fetched


class Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "xlink:href", "poster", "data") and value:
                self.refs.append(value)


def references(path: str, content_type: str, body: str) -> list[str]:
    """What a resource refers to, as written."""
    if content_type.startswith(("text/html", "image/svg")):
        parser = Refs()
        parser.feed(body)
        return parser.refs
    if content_type.startswith("text/css"):
        return [a or b for a, b in CSS_REF.findall(body)]
    if content_type.startswith("application/json"):
        return [s for s in ABSOLUTE.findall(json.dumps(json.loads(body)))]
    if content_type.startswith("text/javascript") and not path.startswith(VENDOR):
        return [s for s in ABSOLUTE.findall(body)]
    return []


def crawl(base: str, start: list[str]) -> tuple[dict[str, httpx.Response], list[tuple[str, str]]]:
    """Every resource reachable from `start` on `base`'s origin, and each reference to another origin (from, to)."""
    origin = urlsplit(base)[:2]
    fetched: dict[str, httpx.Response] = {}
    elsewhere: list[tuple[str, str]] = []
    queue = list(start)
    with httpx.Client(base_url=base, timeout=30) as client:
        while queue:
            path = queue.pop()
            if path in fetched:
                continue
            r = fetched[path] = client.get(path)
            ctype = r.headers.get("content-type", "")
            for ref in references(path, ctype, r.text):
                if ref.startswith(("#", "data:")) or ref in NAMESPACES:
                    continue
                target = urlsplit(urljoin(base + path, ref))
                if target[:2] != origin:
                    elsewhere.append((path, ref))
                else:
                    queue.append(target.path)
    return fetched, elsewhere


def test_no_page_or_linked_resource_refers_to_another_host(tiny_server: str):
    fetched, elsewhere = crawl(tiny_server, ["/", "/docs"])
    assert elsewhere == []
    assert {
        "/",
        "/docs",
        "/docs.json",
        "/static/playground.js",
        "/static/playground.css",
        "/static/docs.js",
        "/static/docs.css",
        "/static/favicon.svg",
        "/static/swagger/swagger-ui-bundle.js",
        "/static/swagger/swagger-ui.css",
    } <= fetched.keys()
    assert {p: r.status_code for p, r in fetched.items() if r.status_code != 200} == {}
    for path, r in fetched.items():
        assert b"googletagmanager" not in r.content, path
        if r.headers["content-type"].startswith("text/html"):
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src 'self';" in csp, path


def test_the_crawler_sees_references_to_other_hosts():
    """The checks above can fail: each kind of reference to another host is found."""
    html = '<link href="https://cdn.example/x.css"><script src="//cdn.example/x.js"></script><a href="/ok">'
    assert references("/", "text/html", html) == ["https://cdn.example/x.css", "//cdn.example/x.js", "/ok"]
    css = "a{background:url('https://img.example/a.png')} @import 'https://fonts.example/f.css';"
    assert references("/s.css", "text/css", css) == ["https://img.example/a.png", "https://fonts.example/f.css"]
    doc = json.dumps({"info": {"description": "[![b](https://img.shields.io/x)](https://pypi.org/y)"}})
    assert references("/docs.json", "application/json", doc) == ["https://img.shields.io/x", "https://pypi.org/y"]
    assert references("/static/a.js", "text/javascript", 'fetch("https://t.example/c")') == ["https://t.example/c"]
