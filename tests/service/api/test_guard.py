"""The checks before parsing: API key, content type, body size, on real ASGI scopes and `receive` callables."""

import asyncio
import re

import pytest

from service.api.guard import Guard
from service.api.validation import RequestError
from tests.service.api.asgi_driver import scope

KEYED = Guard(b"s3cret", 100)
OPEN = Guard(None, 100)


def with_headers(*headers: tuple[bytes, bytes]):
    return scope("POST", "/predict", list(headers))


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ([(b"authorization", b"Bearer s3cret")], True),
        ([(b"authorization", b"bearer   s3cret  ")], True),
        ([(b"x-api-key", b"s3cret")], True),
        ([(b"authorization", b"Bearer wrong")], False),
        ([(b"authorization", b"Basic s3cret")], False),
        ([], False),
    ],
)
def test_the_api_key_in_either_header(headers, ok):
    assert KEYED.authorized(with_headers(*headers)) is ok
    assert OPEN.authorized(with_headers(*headers))


def test_health_metrics_and_docs_are_open_the_apis_are_not():
    assert all(KEYED.is_open(p) for p in ("/livez", "/readyz", "/metrics", "/docs.json", "/", "/static_content/x.js"))
    assert not any(KEYED.is_open(p) for p in ("/predict", "/explain", "/model", "/livez/x"))


@pytest.mark.parametrize(
    "ctype", [None, b"application/json", b"application/json; charset=UTF-8", b"application/vnd.x+json"]
)
def test_json_content_types_pass(ctype):
    OPEN.check_content_type(with_headers(*([(b"content-type", ctype)] if ctype else [])))


@pytest.mark.parametrize(
    ("ctype", "message"),
    [
        (b"text/plain", "content type 'text/plain' is not supported"),
        (b"", "content type '(empty)' is not supported"),
        (b"application/json; charset=latin-1", "charset 'latin-1' is not supported"),
    ],
)
def test_other_content_types_are_415(ctype, message):
    with pytest.raises(RequestError, match=re.escape(message)) as e:
        OPEN.check_content_type(with_headers((b"content-type", ctype)))
    assert e.value.status == 415


def read(guard: Guard, chunks: list[bytes], declared: int | None = None, disconnect: bool = False) -> bytes:
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})

    async def receive():
        return messages.pop(0)

    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    return asyncio.run(guard.read_body(with_headers(*headers), receive))


def test_a_body_in_chunks_is_joined():
    assert read(OPEN, [b'{"texts": ', b'["a"]}']) == b'{"texts": ["a"]}'


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    with pytest.raises(RequestError, match="request body is 101 bytes, the limit is 100 bytes") as e:
        read(OPEN, [], declared=101)
    assert e.value.status == 413


def test_a_body_that_grows_over_the_limit_is_refused_without_a_declared_length():
    with pytest.raises(RequestError, match="exceeds the limit of 100 bytes") as e:
        read(OPEN, [b"x" * 60, b"x" * 60])
    assert e.value.status == 413


def test_a_client_gone_mid_body_is_400():
    with pytest.raises(RequestError, match="client disconnected") as e:
        read(OPEN, [b"{"], disconnect=True)
    assert e.value.status == 400
