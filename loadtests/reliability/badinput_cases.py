"""The hand-written bad-input corpus: what a request looks like (Case) and the server's limits it is built
against; badinput.py adds the generated cases, the expected class of any body and the runner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from loadtests.reliability.rawhttp import build_request

JSON = {"Content-Type": "application/json"}
VALID = json.dumps({"texts": ["I love this phone", "worst service ever"]}).encode()


@dataclass(frozen=True)
class Limits:
    """The server's request limits (SENTIMENT_MAX_TEXTS, _MAX_TEXT_CHARS, _MAX_BODY_BYTES)."""

    max_texts: int = 256
    max_text_chars: int = 2000
    max_body_bytes: int = 1_048_576

    @classmethod
    def from_settings(cls) -> Limits:
        from service.api.settings import ServiceSettings

        s = ServiceSettings()
        return cls(s.max_texts, s.max_text_chars, s.max_body_bytes)


@dataclass
class Case:
    name: str
    category: str
    expect: str  # "4xx" | "2xx" | "any"
    method: str = "POST"
    path: str = "/predict"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    chunked: bool = False
    content_length: int | None = None  # a lying Content-Length
    pieces: int = 1  # >1: the request is sent in pieces, `pause` seconds apart (slow client)
    pause: float = 0.0
    timeout: float = 15.0
    source: str = "hand"  # "hand" | "hypothesis"

    def raw(self, host: str) -> bytes:
        return build_request(
            self.method,
            self.path,
            host,
            self.body,
            self.headers,
            content_length=self.content_length,
            chunked=self.chunked,
        )


def body_of(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def hand_written(limits: Limits = Limits()) -> list[Case]:
    """The named cases of the issue: invalid JSON/UTF-8, nesting, sizes, types, nulls, surrogates, control
    characters, giant and too many texts, content types, methods, framing."""
    big_text = "a" * (limits.max_text_chars + 1)
    over_body = body_of({"texts": ["word " * 300] * (limits.max_body_bytes // 1500 + 2)})  # > max_body_bytes
    c: list[Case] = [
        # JSON syntax and encoding
        Case("empty body", "json", "4xx", body=b""),
        Case("truncated JSON", "json", "4xx", body=b'{"texts": ["I love'),
        Case("trailing garbage", "json", "4xx", body=VALID + b"}}"),
        Case("single quotes", "json", "4xx", body=b"{'texts': ['hi']}"),
        Case("NaN literal", "json", "4xx", body=b'{"texts": NaN}'),
        Case("two JSON documents", "json", "4xx", body=VALID + VALID),
        Case("invalid UTF-8 in a text", "utf8", "4xx", body=b'{"texts": ["\xff\xfe caf\xe9"]}'),
        Case("overlong UTF-8 encoding", "utf8", "4xx", body=b'{"texts": ["\xc0\xaf"]}'),
        Case("UTF-16 body", "utf8", "4xx", body='{"texts": ["hi"]}'.encode("utf-16")),
        Case("lone high surrogate escape", "unicode", "4xx", body=b'{"texts": ["\\ud800"]}'),
        Case("lone low surrogate escape", "unicode", "4xx", body=b'{"texts": ["ok \\udc00 ok"]}'),
        Case("surrogate pair escape (valid)", "unicode", "2xx", body=b'{"texts": ["\\ud83d\\ude00 great"]}'),
        Case("raw surrogate bytes (CESU)", "utf8", "4xx", body=b'{"texts": ["\xed\xa0\x80"]}'),
        # nesting
        Case("deep array nesting", "nesting", "4xx", body=b'{"texts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        Case("deep object nesting", "nesting", "4xx", body=b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        Case("unclosed deep nesting", "nesting", "4xx", body=b"[" * 200_000),
        Case("nested list of texts", "types", "4xx", body=body_of({"texts": [["a", "b"]]})),
        # types and nulls
        Case("body is null", "nulls", "4xx", body=b"null"),
        Case("texts is null", "nulls", "4xx", body=body_of({"texts": None})),
        Case("a text is null", "nulls", "4xx", body=body_of({"texts": ["ok", None]})),
        Case("body is a list", "types", "4xx", body=body_of(["I love it"])),
        Case("body is a string", "types", "4xx", body=body_of("I love it")),
        Case("body is a number", "types", "4xx", body=b"42"),
        Case("texts is a string", "types", "4xx", body=body_of({"texts": "I love it"})),
        Case("texts is an object", "types", "4xx", body=body_of({"texts": {"0": "a"}})),
        Case("texts is a number", "types", "4xx", body=body_of({"texts": 3})),
        Case("a text is a number", "types", "4xx", body=body_of({"texts": [1, 2]})),
        Case("a text is a bool", "types", "4xx", body=body_of({"texts": [True]})),
        Case("a text is an object", "types", "4xx", body=body_of({"texts": [{"text": "a"}]})),
        Case("missing texts", "types", "4xx", body=body_of({"text": ["a"]})),
        Case("empty object", "types", "4xx", body=b"{}"),
        # texts: count, size, content
        Case("empty list", "texts", "4xx", body=body_of({"texts": []})),
        Case("empty string", "texts", "4xx", body=body_of({"texts": [""]})),
        Case("whitespace-only text", "texts", "4xx", body=body_of({"texts": ["   \t\n "]})),
        Case(
            f"too many texts ({limits.max_texts + 1})",
            "texts",
            "4xx",
            body=body_of({"texts": ["a"] * (limits.max_texts + 1)}),
        ),
        Case(f"giant text ({len(big_text)} chars)", "texts", "4xx", body=body_of({"texts": [big_text]})),
        Case("giant text, 1M chars", "texts", "4xx", body=body_of({"texts": ["x" * 1_000_000]})),
        Case("max-size valid request", "texts", "2xx", body=body_of({"texts": ["b" * limits.max_text_chars] * 4})),
        Case("control characters only", "control", "any", body=body_of({"texts": ["\u0000\u0001\u001b[31m"]})),
        # NUL is refused on purpose (400 naming the field): it corrupts logs and downstream C tools
        Case("NUL inside a text", "control", "4xx", body=body_of({"texts": ["I love\u0000 it"]})),
        Case("bidi / zero-width characters", "control", "2xx", body=body_of({"texts": ["\u202egood\u200b\ufeff"]})),
        Case("emoji and combining marks", "unicode", "2xx", body=body_of({"texts": ["e\u0301\u0301\u0301 😀👍🏽"]})),
        # sizes
        Case(f"body over the limit ({len(over_body)} B)", "size", "4xx", body=over_body),
        Case("16 MiB body", "size", "4xx", body=b'{"texts": ["' + b"a" * (16 << 20) + b'"]}', timeout=30),
        # content types
        Case("text/plain", "content-type", "any", body=VALID, headers={"Content-Type": "text/plain"}),
        Case("no content type", "content-type", "any", body=VALID, headers={}),
        Case(
            "form-urlencoded",
            "content-type",
            "4xx",
            body=b"texts=I+love+it",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        Case(
            "multipart form",
            "content-type",
            "4xx",
            body=b'--x\r\nContent-Disposition: form-data; name="texts"\r\n\r\nhi\r\n--x--\r\n',
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        ),
        Case(
            "XML", "content-type", "4xx", body=b"<texts><t>hi</t></texts>", headers={"Content-Type": "application/xml"}
        ),
        Case(
            "octet-stream bytes",
            "content-type",
            "4xx",
            body=bytes(range(256)),
            headers={"Content-Type": "application/octet-stream"},
        ),
        Case(
            "JSON with latin-1 charset",
            "content-type",
            "any",
            body=b'{"texts": ["caf\xe9"]}',
            headers={"Content-Type": "application/json; charset=latin-1"},
        ),
        # methods and paths
        *[
            Case(f"{m} /predict", "method", "4xx", method=m, body=None, headers={})
            for m in ("GET", "PUT", "DELETE", "PATCH")
        ],
        Case("HEAD /predict", "method", "4xx", method="HEAD", body=None, headers={}, timeout=5),
        Case("OPTIONS /predict", "method", "any", method="OPTIONS", body=None, headers={}),
        Case("TRACE /predict", "method", "4xx", method="TRACE", body=None, headers={}),
        Case("made-up method", "method", "4xx", method="BREW", body=None, headers={}),
        Case("unknown path", "method", "4xx", path="/predict/../../etc/passwd"),
        Case("query-string smuggling", "method", "any", path="/predict?texts=a&debug=1", body=VALID),
        # framing
        Case("chunked valid body", "framing", "2xx", body=VALID, chunked=True),
        Case("chunked invalid JSON", "framing", "4xx", body=b'{"texts": [', chunked=True),
        Case("Content-Length shorter than body", "framing", "4xx", body=VALID, content_length=5),
        Case("Content-Length not a number", "framing", "4xx", body=VALID, headers={**JSON, "Content-Length": "abc"}),
        Case("negative Content-Length", "framing", "4xx", body=VALID, headers={**JSON, "Content-Length": "-1"}),
        Case(
            "Content-Length longer than body (stalls)",
            "framing",
            "any",
            body=VALID,
            content_length=len(VALID) + 100,
            timeout=4,
        ),
        Case(
            "slow body, 1 byte per 0.5 s for 3 s",
            "framing",
            "any",
            body=VALID[:6],
            pieces=6,
            pause=0.5,
            content_length=len(VALID),
            timeout=6,
        ),
        Case("64 KiB header", "headers", "any", body=VALID, headers={**JSON, "X-Big": "a" * 65536}),
        Case("header with invalid bytes", "headers", "any", body=VALID, headers={**JSON, "X-Odd": "\xff\xfe"}),
    ]
    return c


# ----------------------------------------------------------------------------------------------------------------
# hypothesis-generated bodies, with an oracle that says which are valid requests
