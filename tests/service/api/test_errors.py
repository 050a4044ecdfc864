"""Error answers: the refusals, and BentoML's plain-text 404/405 and batcher 503 rewritten, through real `send`s."""

import asyncio
import json

from service.api import errors
from service.api.asgi import respond


def run_wrapped(wrap, status: int, headers: list[tuple[bytes, bytes]], body: bytes):
    sent = []

    async def send(message):
        sent.append(message)

    async def app_answer():
        wrapped = wrap(send)
        await wrapped({"type": "http.response.start", "status": status, "headers": headers})
        await wrapped({"type": "http.response.body", "body": body})

    asyncio.run(app_answer())
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_the_batchers_503_becomes_429_with_retry_after():
    status, headers, body = run_wrapped(
        lambda s: errors.overload_as_429(s, 2000), 503, [(b"content-type", b"text/plain")], b"Service Unavailable"
    )
    assert status == 429 and headers[b"retry-after"] == b"1"
    assert json.loads(body) == {"error": errors.overload_message(2000)}
    assert "max latency 2000 ms" in errors.overload_message(2000)


def test_other_answers_pass_through_overload_as_429_untouched():
    assert run_wrapped(lambda s: errors.overload_as_429(s, 2000), 200, [], b"[]") == (200, {}, b"[]")


def test_starlettes_plain_404_and_405_become_json_keeping_allow():
    status, _, body = run_wrapped(
        lambda s: errors.json_errors(s, "/nope", "GET", "rid-1"), 404, [(b"content-type", b"text/plain")], b"Not Found"
    )
    assert status == 404 and json.loads(body) == {"error": "no such endpoint: /nope", "request_id": "rid-1"}
    plain_405 = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET")]
    status, headers, body = run_wrapped(
        lambda s: errors.json_errors(s, "/livez", "POST", "r"), 405, plain_405, b"Method Not Allowed"
    )
    assert status == 405 and headers[b"allow"] == b"GET"
    assert json.loads(body)["error"] == "method POST is not allowed on /livez"


def test_a_json_404_of_the_app_is_kept():
    answer = [(b"content-type", b"application/json")]
    assert run_wrapped(lambda s: errors.json_errors(s, "/x", "GET", "r"), 404, answer, b'{"e":1}')[2] == b'{"e":1}'


def test_refusals_carry_status_reason_and_headers():
    assert (errors.unauthorized().status, errors.unauthorized().reason) == (401, "unauthorized")
    e = errors.method_not_allowed("/model", "POST", "GET, HEAD")
    assert (e.status, e.headers) == (405, [(b"allow", b"GET, HEAD")])
    assert e.body()["error"] == "method POST is not allowed on /model: use GET, HEAD"
    assert errors.overloaded(50).status == 429


def test_respond_refuses_nan_rather_than_answering_invalid_json():
    sent = []

    async def send(m):
        sent.append(m)

    try:
        asyncio.run(respond(send, 200, {"x": float("nan")}, []))
        raised = False
    except ValueError:
        raised = True
    assert raised and sent == []
