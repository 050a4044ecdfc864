"""The API against a real `sentiment serve` on 127.0.0.1 and a free port (one server for the module)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.api.settings import MAX_AUTO_WORKERS
from service.client import APIError, SentimentClient
from service.core.cores import cpu_cores
from tests.conftest import REPO, running_server

WORDS = str.split(
    "love hate great awful meh phone game flight cancelled happy sad angry tonight tomorrow the a is was "
    "best worst ever never really so very not good bad customer service delay amazing terrible #win #fail "
    "@user http://t.co/x :) :( <3 xD 😂 😡 LOL omg sooooo 3pm $5 Tuesday"
)


def make_texts(n: int, seed: int = 0, max_words: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, max_words))) for _ in range(n)]


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("log") / "server.log"
    # a generous latency budget: on a loaded CI box the batcher would otherwise shed requests (429) here
    args = ("--max-batch-size", "64", "--max-texts", "64", "--max-latency-ms", "60000")
    with running_server(tiny_model, *args, log_path=log) as url:
        yield url, log


@pytest.fixture(scope="module")
def url(server) -> str:
    return server[0]


@pytest.fixture(scope="module")
def client(url: str):
    with SentimentClient(url) as c:
        yield c


def post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    h = {"Content-Type": "application/json"} if headers is None else headers
    return httpx.post(url + path, content=body, headers=h, timeout=30)


def metric(text: str, name: str) -> float:
    """Sum of the samples of one metric (all label sets) in a Prometheus text exposition."""
    return sum(float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M))


# --- /predict -----------------------------------------------------------------------------------------------


def test_predict_one_result_per_text_in_order(client: SentimentClient):
    texts = ["I love this phone :)", "worst flight ever, cancelled again", "the store opens at 9"]
    preds = client.predict(texts)
    assert len(preds) == 3
    for p in preds:
        scores = p.scores.model_dump()
        assert p.label in ("negative", "neutral", "positive")
        assert set(scores) == {"negative", "neutral", "positive"}
        assert abs(sum(scores.values()) - 1) < 1e-4
        assert p.label == max(scores, key=scores.__getitem__)
    # order: each text alone gives the same answer as in the batch
    assert [client.predict([t])[0] for t in texts] == preds


def test_concurrent_requests_match_offline_score(url: str, tiny_model: Path, tmp_path: Path):
    """Many concurrent requests of different sizes (merged by the batcher): every response has one result per
    text, in order, and equals `sentiment score` on the same texts."""
    texts = make_texts(300, seed=1)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "service.cli", "score", str(src), "-o", str(out), "--model", str(tiny_model)]
    subprocess.run([*cmd, "--no-progress"], cwd=REPO, check=True, capture_output=True, timeout=300)
    offline = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}

    rng = random.Random(2)
    chunks, i = [], 0
    while i < len(texts):
        n = rng.randint(1, 17)
        chunks.append(list(range(i, min(i + n, len(texts)))))
        i += n

    def call(idx: list[int]) -> tuple[list[int], list]:
        with SentimentClient(url) as c:
            return idx, c.predict([texts[j] for j in idx])

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, chunks))
    for idx, preds in results:
        assert len(preds) == len(idx)
        for j, p in zip(idx, preds, strict=True):
            ref = offline[str(j)]
            assert p.label == ref["label"], texts[j]
            for k, v in ref["scores"].items():
                assert abs(getattr(p.scores, k) - v) <= 1e-5


# --- validation ---------------------------------------------------------------------------------------------

BAD_BODIES = [
    (b'{"texts": []}', 400, "texts: empty array"),
    (b'{"texts": ["ok", "   "]}', 400, "texts[1]: empty or whitespace-only"),
    (b'{"texts": ["ok", "\\n\\t"]}', 400, "texts[1]: empty or whitespace-only"),
    (b'{"texts": ["ok", 3]}', 400, "texts[1]: expected a string, got number"),
    (b'{"texts": [null]}', 400, "texts[0]: expected a string, got null"),
    (b'{"texts": [["nested"]]}', 400, "texts[0]: expected a string, got array"),
    (b'{"texts": [{"text": "x"}]}', 400, "texts[0]: expected a string, got object"),
    (b'{"texts": [true]}', 400, "texts[0]: expected a string, got boolean"),
    (b'{"texts": "just a string"}', 400, "texts: expected an array of strings, got string"),
    (b'{"texts": null}', 400, "texts: expected an array of strings, got null"),
    (b'["a", "b"]', 400, "request body: expected a JSON object"),
    (b"42", 400, "request body: expected a JSON object"),
    (b"null", 400, "request body: expected a JSON object"),
    (b"{}", 400, "texts: required field is missing"),
    (b'{"text": "a"}', 400, "unknown field 'text'"),
    (b'{"texts": ["a"], "extra": 1}', 400, "unknown field 'extra'"),
    (b'{"texts": ["\\ud800 lone surrogate"]}', 400, "texts[0]: invalid Unicode"),
    (b'{"texts": ["nul \\u0000 inside"]}', 400, "texts[0]: text contains a NUL"),
    (b'{"texts": ["\xff\xfe bad bytes"]}', 400, "not valid UTF-8"),
    (b'{"texts": ["\xed\xa0\x80"]}', 400, "not valid UTF-8"),
    (b'{"texts": ["unterminated', 400, "invalid JSON at line 1"),
    (b'{"texts": ["a",]}', 400, "invalid JSON"),
    (b"", 400, "empty request body"),
    (b"   ", 400, "empty request body"),
    (b"[" * 50_000 + b"]" * 50_000, 400, "invalid JSON"),
    (b'{"texts": ' + b"9" * 5000 + b"}", 400, "invalid JSON"),
    (json.dumps({"texts": ["a"] * 65}).encode(), 400, "texts: 65 texts, the limit is 64"),
    (json.dumps({"texts": ["ok", "x" * 2001]}).encode(), 400, "texts[1]: text has 2001 characters, the limit is 2000"),
    (b'{"texts": ["' + b"a" * 1_100_000 + b'"]}', 413, "the limit is 1048576 bytes"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES, ids=[m for _, _, m in BAD_BODIES])
def test_invalid_predict_bodies_get_a_specific_4xx(url: str, body: bytes, status: int, message: str):
    r = post(url, "/predict", body)
    assert r.status_code == status, r.text
    err = r.json()
    assert message in err["error"]
    assert err["request_id"] == r.headers["x-request-id"]
    m = re.match(r"(texts(\[\d+\])?)", message)
    if m:
        assert err["field"] == m.group(1)


def test_body_over_limit_without_content_length_is_refused(url: str):
    def chunks():
        for _ in range(40):
            yield b"x" * 32_768  # 1.3 MB in chunked transfer encoding: no Content-Length to check up front

    r = httpx.post(url + "/predict", content=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "exceeds the limit of 1048576 bytes" in r.json()["error"]


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
              "application/vnd.bentoml+pickle", "application/json; charset=latin-1"]
)  # fmt: skip
def test_wrong_content_type_is_415(url: str, ctype: str):
    r = post(url, "/predict", b'{"texts": ["hello"]}', {"Content-Type": ctype})
    assert r.status_code == 415 and "not supported" in r.json()["error"]


def test_json_content_types_are_accepted(url: str):
    for headers in ({}, {"Content-Type": "application/json; charset=utf-8"}):
        assert post(url, "/predict", b'{"texts": ["hello"]}', headers).status_code == 200


def test_wrong_method_and_unknown_path_are_json(url: str):
    r = httpx.get(url + "/predict")
    assert r.status_code == 405 and "use POST" in r.json()["error"]
    assert r.headers["allow"] == "POST"  # RFC 9110: a 405 says what is allowed
    r = httpx.post(url + "/model", json={})
    assert r.status_code == 405 and "use GET" in r.json()["error"] and r.headers["allow"] == "GET, HEAD"
    r = httpx.get(url + "/no/such/thing")
    assert r.status_code == 404 and r.json()["error"] == "no such endpoint: /no/such/thing"
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_client_raises_api_error_with_field(client: SentimentClient):
    with pytest.raises(APIError) as e:
        client.predict(["fine", ""])
    assert e.value.status == 400 and e.value.field == "texts[1]" and e.value.request_id


# --- /explain, /model, docs, metrics, logs ------------------------------------------------------------------


def test_explain_gives_one_attribution_per_token(client: SentimentClient, url: str, tiny_model: Path):
    from service.core.artifact import load_artifact

    text = "I love this phone, best purchase ever :) #happyday"
    e = client.explain(text)
    assert e.method == "occlusion" and not e.truncated
    assert [t.token for t in e.tokens] == load_artifact(tiny_model, "cpu").encoder.tokenize(text)  # the model's own
    assert all(-1 <= t.attribution <= 1 for t in e.tokens)
    (p,) = client.predict([text])
    assert (e.label, e.scores) == (p.label, p.scores)
    with pytest.raises(APIError) as err:
        client.explain("   ")
    assert err.value.status == 400 and err.value.field == "text"
    r = post(url, "/explain", b'{"text": ["a list"]}')
    assert r.status_code == 400 and "text: expected a string, got array" in r.json()["error"]


def test_model_endpoint(client: SentimentClient, tiny_model: Path):
    info = client.model()
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert info["name"] == manifest["name"] and info["version"] == manifest["version"]
    assert info["sha256"] == manifest["files"]["model.pt"]
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert info["tokenizer_version"] == manifest["tokenizer_version"]
    assert info["metrics"] == manifest["metrics"] and info["created_at"] == manifest["created_at"]
    assert info["device"].startswith(("cpu", "cuda"))
    on_gpu = info["device"].startswith("cuda")
    assert info["batching"] == {
        "enabled": True,
        "max_batch_size": 64,
        "max_latency_ms": 60000,
        "workers": 1 if on_gpu else min(MAX_AUTO_WORKERS, cpu_cores()),  # the default: a worker per core on the CPU
        "model_threads": max(1, cpu_cores()),
        "max_batch_wait_ms": 5.0,
    }
    assert info["limits"] == {"max_texts": 64, "max_text_chars": 2000, "max_body_bytes": 1_048_576}
    assert info["precision"] == "fp32"


def test_openapi_documents_every_endpoint_with_examples(client: SentimentClient):
    spec = client.openapi()
    paths = spec["paths"]
    assert {"/predict", "/explain", "/model", "/livez", "/readyz", "/metrics"} <= paths.keys()
    assert "get" in paths["/model"] and "ModelInfo" in spec["components"]["schemas"]
    for p in ("/predict", "/explain"):
        responses = paths[p]["post"]["responses"]
        assert {"200", "400", "401", "413", "415", "429"} <= responses.keys()
    assert "examples" in json.dumps(paths["/predict"]["post"]["requestBody"]) or "examples" in json.dumps(
        spec["components"]
    )


def test_metrics_counters_move(client: SentimentClient, url: str):
    before = client.metrics()
    client.predict(["I love it", "I hate it", "zzqxj unknownword"])
    post(url, "/predict", b'{"texts": []}')
    after = client.metrics()
    assert metric(after, "sentiment_predictions_total") == metric(before, "sentiment_predictions_total") + 3
    assert (
        metric(after, "sentiment_prediction_confidence_count")
        == metric(before, "sentiment_prediction_confidence_count") + 3
    )
    assert metric(after, "sentiment_text_length_chars_count") >= metric(before, "sentiment_text_length_chars_count") + 3
    assert metric(after, "sentiment_batch_size_count") >= metric(before, "sentiment_batch_size_count") + 1
    assert metric(after, "sentiment_tokens_total") > metric(before, "sentiment_tokens_total")
    assert metric(after, "sentiment_oov_tokens_total") >= metric(before, "sentiment_oov_tokens_total") + 1
    assert metric(after, "sentiment_rejected_requests_total") == metric(before, "sentiment_rejected_requests_total") + 1
    assert "bentoml_service_request_total" in after  # BentoML's own metrics are still there


def test_request_id_and_json_access_log(server):
    url, log = server
    r = httpx.post(url + "/predict", json={"texts": ["hello"]}, headers={"X-Request-ID": "test-rid-42"})
    assert r.headers["x-request-id"] == "test-rid-42"
    r = httpx.post(url + "/predict", json={"texts": []}, headers={"X-Request-ID": "bad id with spaces"})
    generated = r.headers["x-request-id"]
    assert generated != "bad id with spaces" and r.json()["request_id"] == generated
    access: dict[str, dict] = {}
    for _ in range(50):  # the access line is written once the answer is sent: give the worker a moment
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        access = {rec["request_id"]: rec for rec in lines if rec.get("event") == "access"}
        if {"test-rid-42", generated} <= access.keys():
            break
        time.sleep(0.1)
    assert access["test-rid-42"]["status"] == 200 and access["test-rid-42"]["n_texts"] == 1
    assert access[generated]["status"] == 400 and access[generated]["reason"] == "bad_shape"


def test_health_endpoints(url: str):
    assert httpx.get(url + "/livez").status_code == 200
    assert httpx.get(url + "/readyz").status_code == 200


def test_random_bodies_never_5xx(url: str):
    """A bounded fuzz: random JSON-ish bodies get 200 or a 4xx with an error message, never a 5xx."""
    rng = random.Random(7)
    atoms = [None, True, 0, -1.5, "", " ", "ok", "\u200b", "x" * 2500, [], {}, ["ok"], {"texts": None}]

    def value(depth: int = 0):
        k = rng.random()
        if depth > 2 or k < 0.5:
            return rng.choice(atoms)
        if k < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(["texts", "text", "x"]): value(depth + 1)}

    bodies = [json.dumps({"texts": value()}).encode() for _ in range(60)]
    bodies += [json.dumps(value()).encode() for _ in range(30)]
    bodies += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) for _ in range(30)]
    with httpx.Client(base_url=url, timeout=30) as c:
        for body in bodies:
            r = c.post("/predict", content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 200 or (400 <= r.status_code < 500 and r.json()["error"]), (body, r.text)
