"""ASGI vocabulary shared by the middleware modules: types, header lookup, a JSON answer in one message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of request header `name` (lower-case bytes), or None."""
    for k, v in scope["headers"]:
        if k == name:
            return v
    return None


def json_payload(body: Any) -> bytes:
    """`body` as strict, compact JSON (no NaN)."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


async def respond(send: Send, status: int, body: Any, headers: Headers) -> int:
    """`body` as strict JSON (no NaN) with a Content-Length, in one response; returns `status`."""
    return await send_json(send, status, json_payload(body), headers)


async def send_json(send: Send, status: int, payload: bytes, headers: Headers) -> int:
    """An encoded JSON `payload` with a Content-Length, in one response; returns `status`."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
    return status


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app, then waits for the disconnect as the server would."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
