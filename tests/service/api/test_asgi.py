"""The ASGI vocabulary: header lookup, one-message JSON answers, and replaying a body that was already read."""

import asyncio
import json

from service.api.asgi import header, replay, respond


def test_header_is_the_first_value_of_a_lower_case_name():
    scope = {"headers": [(b"x-a", b"1"), (b"x-a", b"2"), (b"content-type", b"application/json")]}
    assert header(scope, b"x-a") == b"1" and header(scope, b"x-b") is None


def test_respond_sends_json_with_its_length_and_extra_headers():
    sent = []

    async def send(m):
        sent.append(m)

    assert asyncio.run(respond(send, 201, {"ok": "é"}, [(b"x-id", b"7")])) == 201
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 201 and headers[b"x-id"] == b"7"
    assert int(headers[b"content-length"]) == len(body["body"]) and json.loads(body["body"]) == {"ok": "é"}


def test_replay_hands_the_body_once_then_what_the_server_sends():
    async def receive():
        return {"type": "http.disconnect"}

    async def run():
        r = replay(b'{"texts": ["a"]}', receive)
        return await r(), await r()

    first, second = asyncio.run(run())
    assert first == {"type": "http.request", "body": b'{"texts": ["a"]}', "more_body": False}
    assert second == {"type": "http.disconnect"}
