"""Drive an ASGI app in process, as a server would: a real scope, a `receive` that hands the body (in chunks if
asked) then the disconnect, a `send` that records the messages. Not a test module: a helper of the unit tests of
the ASGI layer (middleware, guard, errors, openapi)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from service.api.asgi import ASGIApp, Message


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes
    messages: list[Message] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers if headers is not None else [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
        "scheme": "http",
    }


async def call_async(app: ASGIApp, sc: dict[str, Any], body: bytes = b"", chunk: int | None = None) -> Answer:
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk and body else [body]
    queue: list[Message] = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # a real server's receive blocks until the client goes away
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(dict(message))

    await app(sc, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], dict(start.get("headers", [])), payload, sent)


def call(app: ASGIApp, method: str, path: str, body: Any = None, headers=None, chunk: int | None = None) -> Answer:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return asyncio.run(call_async(app, scope(method, path, headers), raw, chunk))


async def echo_app(sc: dict[str, Any], receive: Any, send: Any) -> None:
    """A real inner app: answers 200 with what it received (method, path, body), like BentoML's handlers would."""
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    payload = json.dumps({"method": sc["method"], "path": sc["path"], "body": body.decode()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})
