"""The bad-input corpus: hand-written malformed requests plus hypothesis-generated bodies, sent raw to a real
server. Every case has an expectation; the runner counts status classes and any answer that misses it.

Expectations: ``4xx`` (must be refused with a client error), ``2xx`` (a valid request that must be answered),
``any`` (either is acceptable, never a 5xx: e.g. JSON sent as text/plain, or a text of control characters).
A 5xx, a dropped connection or a crash is a failure for every case.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtests.reliability.rawhttp import RawResponse, build_request, request, send

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


@dataclass
class Outcome:
    case: Case
    response: RawResponse

    @property
    def status(self) -> int | None:
        return self.response.status

    @property
    def klass(self) -> str:
        s = self.status
        return "none" if s is None else f"{s // 100}xx"

    @property
    def ok(self) -> bool:
        """Met its expectation: never a 5xx; 4xx/2xx where required; a slow or lying request may also be
        dropped by the server after its read timeout (status None) but never answered with a 5xx."""
        s = self.status
        if s is None:
            return self.case.category == "framing" and self.case.content_length is not None
        if s >= 500:
            return False
        if self.case.expect == "4xx":
            return 400 <= s < 500
        if self.case.expect == "2xx":
            return 200 <= s < 300
        return s < 500

    @property
    def clear(self) -> bool:
        """A refusal says why: a non-empty body."""
        return (
            self.status is None or self.status < 400 or self.case.method == "HEAD" or bool(self.response.body.strip())
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.case.name,
            "category": self.case.category,
            "source": self.case.source,
            "expect": self.case.expect,
            "status": self.status,
            "seconds": round(self.response.seconds, 3),
            "ok": self.ok,
            "message": self.response.text[:200],
            "client_error": self.response.error,
        }


def _body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def hand_written(limits: Limits = Limits()) -> list[Case]:
    """The named cases of the issue: invalid JSON/UTF-8, nesting, sizes, types, nulls, surrogates, control
    characters, giant and too many texts, content types, methods, framing."""
    big_text = "a" * (limits.max_text_chars + 1)
    over_body = _body({"texts": ["word " * 300] * (limits.max_body_bytes // 1500 + 2)})  # > max_body_bytes
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
        Case("nested list of texts", "types", "4xx", body=_body({"texts": [["a", "b"]]})),
        # types and nulls
        Case("body is null", "nulls", "4xx", body=b"null"),
        Case("texts is null", "nulls", "4xx", body=_body({"texts": None})),
        Case("a text is null", "nulls", "4xx", body=_body({"texts": ["ok", None]})),
        Case("body is a list", "types", "4xx", body=_body(["I love it"])),
        Case("body is a string", "types", "4xx", body=_body("I love it")),
        Case("body is a number", "types", "4xx", body=b"42"),
        Case("texts is a string", "types", "4xx", body=_body({"texts": "I love it"})),
        Case("texts is an object", "types", "4xx", body=_body({"texts": {"0": "a"}})),
        Case("texts is a number", "types", "4xx", body=_body({"texts": 3})),
        Case("a text is a number", "types", "4xx", body=_body({"texts": [1, 2]})),
        Case("a text is a bool", "types", "4xx", body=_body({"texts": [True]})),
        Case("a text is an object", "types", "4xx", body=_body({"texts": [{"text": "a"}]})),
        Case("missing texts", "types", "4xx", body=_body({"text": ["a"]})),
        Case("empty object", "types", "4xx", body=b"{}"),
        # texts: count, size, content
        Case("empty list", "texts", "4xx", body=_body({"texts": []})),
        Case("empty string", "texts", "4xx", body=_body({"texts": [""]})),
        Case("whitespace-only text", "texts", "4xx", body=_body({"texts": ["   \t\n "]})),
        Case(
            f"too many texts ({limits.max_texts + 1})",
            "texts",
            "4xx",
            body=_body({"texts": ["a"] * (limits.max_texts + 1)}),
        ),
        Case(f"giant text ({len(big_text)} chars)", "texts", "4xx", body=_body({"texts": [big_text]})),
        Case("giant text, 1M chars", "texts", "4xx", body=_body({"texts": ["x" * 1_000_000]})),
        Case("max-size valid request", "texts", "2xx", body=_body({"texts": ["b" * limits.max_text_chars] * 4})),
        Case("control characters only", "control", "any", body=_body({"texts": ["\u0000\u0001\u001b[31m"]})),
        # NUL is refused on purpose (400 naming the field): it corrupts logs and downstream C tools
        Case("NUL inside a text", "control", "4xx", body=_body({"texts": ["I love\u0000 it"]})),
        Case("bidi / zero-width characters", "control", "2xx", body=_body({"texts": ["\u202egood\u200b\ufeff"]})),
        Case("emoji and combining marks", "unicode", "2xx", body=_body({"texts": ["e\u0301\u0301\u0301 😀👍🏽"]})),
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


def _clearly_nonblank(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def expected_for(obj: Any, limits: Limits) -> str:
    """What a correct server answers for this decoded JSON body."""
    if not isinstance(obj, dict) or "texts" not in obj:
        return "4xx"
    texts = obj["texts"]
    if not isinstance(texts, list) or not 1 <= len(texts) <= limits.max_texts:
        return "4xx"
    verdicts = []
    for t in texts:
        if not isinstance(t, str) or not 1 <= len(t) <= limits.max_text_chars:
            return "4xx"
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in t):
            return "4xx"  # a lone surrogate is not Unicode
        verdicts.append("2xx" if _clearly_nonblank(t) else ("4xx" if not t.strip() else "any"))
    if "4xx" in verdicts:
        return "4xx"
    if len(obj) > 1 or "any" in verdicts:
        return "any"  # extra keys, texts of only symbols/controls: either answer is defensible
    return "2xx"


def expected_for_bytes(raw: bytes, limits: Limits) -> str:
    try:
        obj = json.loads(raw.decode("utf-8", "strict"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "4xx"
    verdict = expected_for(obj, limits)
    return "any" if verdict == "2xx" else verdict  # odd but valid encodings (escapes, spacing) may be refused


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def generated(n: int = 200, seed: int = 0, limits: Limits = Limits()) -> list[Case]:
    """`n` bodies from hypothesis strategies: arbitrary JSON under and around "texts", texts with any code point
    (lone surrogates, controls), raw bytes, and byte-level mutations of a valid body."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    any_char = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)
    texts_any = st.text(alphabet=any_char, max_size=40)
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts_any
    json_values = st.recursive(
        scalars,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
        max_leaves=12,
    )
    bodies = st.one_of(
        st.builds(lambda v: {"texts": v}, json_values),
        st.builds(lambda v: {"texts": v}, st.lists(texts_any, min_size=0, max_size=6)),
        st.builds(
            lambda v, k: {"texts": v, **k},
            st.lists(texts_any, min_size=1, max_size=3),
            st.dictionaries(st.text(max_size=4), scalars, max_size=2),
        ),
        json_values,
    )

    def mutate(raw: bytes, ops: list[tuple[int, int, int]]) -> bytes:
        b = bytearray(raw)
        for kind, pos, val in ops:
            if not b:
                break
            p = pos % len(b)
            if kind == 0:
                b[p] = val
            elif kind == 1:
                b.insert(p, val)
            else:
                del b[p]
        return bytes(b)

    raws = st.one_of(
        st.binary(max_size=300),
        st.builds(
            mutate,
            st.just(VALID),
            st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
        ),
    )
    cases: list[Case] = []

    @hseed(seed)
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        if data.draw(st.integers(0, 2)) < 2:
            obj = data.draw(bodies)
            raw = json.dumps(obj, allow_nan=False).encode("utf-8", "surrogatepass")
            cases.append(
                Case(f"json #{len(cases)}", "generated-json", expected_for(obj, limits), body=raw, source="hypothesis")
            )
        else:
            raw = data.draw(raws)
            cases.append(
                Case(
                    f"bytes #{len(cases)}",
                    "generated-bytes",
                    expected_for_bytes(raw, limits),
                    body=raw,
                    source="hypothesis",
                )
            )

    collect()
    return cases[:n]


# ----------------------------------------------------------------------------------------------------------------


def run_case(host: str, port: int, case: Case) -> Outcome:
    raw = case.raw(f"{host}:{port}")
    if case.pieces > 1:
        head_end = raw.index(b"\r\n\r\n") + 4
        head, body = raw[:head_end], raw[head_end:]
        parts = [head] + [body[i : i + 1] for i in range(min(case.pieces, len(body)))]
        return Outcome(case, send(host, port, parts, timeout=case.timeout, pause=case.pause))
    return Outcome(case, send(host, port, raw, timeout=case.timeout))


def healthy(host: str, port: int) -> bool:
    """Ready and still answering a valid request correctly."""
    ready = request(host, port, "GET", "/readyz", timeout=10)
    pred = request(host, port, "POST", "/predict", VALID, JSON, timeout=30)
    if ready.status != 200 or pred.status != 200:
        return False
    try:
        return len(json.loads(pred.body)) == 2
    except ValueError:
        return False


def run_corpus(host: str, port: int, cases: list[Case]) -> dict[str, Any]:
    """Send every case (one connection each) and summarise. ``violations`` lists the cases that missed."""
    t0 = time.monotonic()
    outcomes = [run_case(host, port, c) for c in cases]
    classes = Counter(o.klass for o in outcomes)
    by_category: dict[str, Counter[str]] = {}
    for o in outcomes:
        by_category.setdefault(o.case.category, Counter())[o.klass] += 1
    return {
        "cases": len(outcomes),
        "hand_written": sum(1 for o in outcomes if o.case.source == "hand"),
        "generated": sum(1 for o in outcomes if o.case.source == "hypothesis"),
        "status_classes": dict(classes),
        "count_2xx": classes.get("2xx", 0),
        "count_4xx": classes.get("4xx", 0),
        "count_5xx": classes.get("5xx", 0),
        "no_response": classes.get("none", 0),
        "by_category": {k: dict(v) for k, v in sorted(by_category.items())},
        "violations": [o.as_dict() for o in outcomes if not o.ok],
        "unclear_refusals": [o.as_dict() for o in outcomes if not o.clear],
        "healthy_after": healthy(host, port),
        "seconds": round(time.monotonic() - t0, 2),
        "outcomes": [o.as_dict() for o in outcomes],
    }
