"""The ASGI layer in front of BentoML's handlers, driven as a server would drive it (real scope, receive, send),
with a real inner ASGI app standing where BentoML's handlers are, and a real batch function for /predict."""

import logging

import pytest

from service.api.middleware import ServiceMiddleware
from service.api.state import ServiceState
from tests.service.api.asgi_driver import call, echo_app

JSON = [(b"content-type", b"application/json")]
ROW = {"label": "neutral", "scores": {"negative": 0.2, "neutral": 0.6, "positive": 0.2}}


def layer(state: ServiceState | None = None, **options) -> ServiceMiddleware:
    settings = dict(
        api_key=None, max_body_bytes=2048, max_texts=4, max_text_chars=50, max_concurrency=8, max_latency_ms=2000,
        max_batch_size=64, batching=True, access_log=True,
    )  # fmt: skip
    settings.update(options)
    return ServiceMiddleware(echo_app, state=state or ServiceState(), **settings)


def ready_state() -> ServiceState:
    state = ServiceState()
    state.model_ready({"name": "m", "version": "1"}, None, lambda texts: [ROW] * len(texts))
    return state


def test_a_valid_explain_reaches_the_app_with_its_body():
    r = call(layer(), "POST", "/explain", {"text": "hi there"}, JSON)
    assert r.status == 200 and r.json() == {"method": "POST", "path": "/explain", "body": '{"text": "hi there"}'}


def test_predict_is_answered_here_never_by_the_app_once_the_model_is_ready():
    r = call(layer(), "POST", "/predict", {"texts": ["a"]}, JSON)  # not loaded yet: 503, not BentoML's handler
    assert r.status == 503 and r.json()["error"] == "the model is not loaded yet; retry shortly"
    r = call(layer(ready_state()), "POST", "/predict", {"texts": ["a", "b"]}, JSON)
    assert r.status == 200 and r.json() == [ROW, ROW]
    names = [entry.split(";")[0] for entry in r.headers[b"server-timing"].decode().split(", ")]
    assert names == ["dispatch", "admit", "limit", "read", "parse", "queue", "model", "answer"]


def test_a_refused_predict_names_no_steps():
    r = call(layer(ready_state()), "POST", "/predict", {"texts": []}, JSON)
    assert r.status == 400 and b"server-timing" not in r.headers


@pytest.mark.parametrize(
    ("method", "body", "headers", "status", "error"),
    [
        ("GET", None, JSON, 405, "method GET is not allowed on /predict: use POST"),
        ("POST", {"texts": ["a"]}, [(b"content-type", b"text/plain")], 415, "content type 'text/plain'"),
        ("POST", {"texts": ["x" * 3000]}, JSON, 413, "exceeds the limit of 2048 bytes"),
        ("POST", {"texts": ["ok", "x" * 51]}, JSON, 400, "texts[1]: text has 51 characters, the limit is 50"),
        ("POST", {"texts": ["a"] * 5}, JSON, 400, "texts: 5 texts, the limit is 4 per request"),
        ("POST", b"{not json", JSON, 400, ""),
    ],
)
def test_refusals_before_the_app(method, body, headers, status, error):
    r = call(layer(), method, "/predict", body, headers)
    assert r.status == status and error in r.json()["error"]
    assert r.json()["request_id"] == r.headers[b"x-request-id"].decode()
    if status == 405:
        assert r.headers[b"allow"] == b"POST"


def test_the_api_key_guards_the_apis_and_model_but_not_health():
    keyed = layer(ready_state(), api_key="k3y")
    assert call(keyed, "POST", "/predict", {"texts": ["a"]}, JSON).status == 401
    assert call(keyed, "GET", "/model", None, []).status == 401
    assert call(keyed, "GET", "/anything-else", None, []).status == 401
    assert call(keyed, "GET", "/livez", None, []).status == 200  # open: reaches the app
    auth = [*JSON, (b"authorization", b"Bearer k3y")]
    assert call(keyed, "POST", "/predict", {"texts": ["a"]}, auth).status == 200


def test_get_model_is_503_until_ready_then_the_info():
    assert call(layer(), "GET", "/model", None, []).json()["error"] == "the model is not loaded yet; retry shortly"
    r = call(layer(ready_state()), "GET", "/model", None, [])
    assert (r.status, r.json()) == (200, {"name": "m", "version": "1"})
    r = call(layer(ready_state()), "POST", "/model", None, [])
    assert r.status == 405 and r.headers[b"allow"] == b"GET, HEAD"


def test_the_concurrency_limit_answers_429_with_retry_after():
    r = call(layer(max_concurrency=0), "POST", "/predict", {"texts": ["a"]}, JSON)
    assert r.status == 429 and r.headers[b"retry-after"] == b"1"


def test_request_ids_the_clients_when_sane_else_a_new_one():
    sane = call(layer(), "GET", "/livez", None, [(b"x-request-id", b"abc-123.x")])
    assert sane.headers[b"x-request-id"] == b"abc-123.x"
    odd = call(layer(), "GET", "/livez", None, [(b"x-request-id", b"<script>")])
    new = odd.headers[b"x-request-id"].decode()
    assert new != "<script>" and len(new) == 16 and int(new, 16) >= 0


def test_one_access_line_per_request_with_status_and_texts(caplog):
    with caplog.at_level(logging.INFO, logger="sentiment.access"):
        call(layer(ready_state()), "POST", "/predict", {"texts": ["a", "b", "c"]}, [*JSON, (b"x-request-id", b"r1")])
        call(layer(ready_state()), "POST", "/predict", {"texts": []}, [*JSON, (b"x-request-id", b"r2")])
    lines = [r.fields for r in caplog.records if r.name == "sentiment.access"]
    assert [(x["request_id"], x["status"], x.get("n_texts")) for x in lines] == [("r1", 200, 3), ("r2", 400, None)]
    assert lines[1]["reason"] and lines[0]["path"] == "/predict" and lines[0]["ms"] >= 0
