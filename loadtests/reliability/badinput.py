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
from dataclasses import dataclass
from typing import Any

from loadtests.reliability.badinput_cases import JSON, VALID, Case, Limits, hand_written
from loadtests.reliability.rawhttp import RawResponse, request, send

__all__ = ["JSON", "VALID", "Case", "Limits", "Outcome", "expected_for", "generated", "hand_written", "run_corpus"]


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
