"""Error answers: the refusals the guard raises, and BentoML's own error answers rewritten to the API's JSON form.

* `RequestError` (service/api/validation.py) -> ``{"error", "field"?, "request_id"}`` with its status and headers;
* Starlette's plain-text 404/405 for unknown paths and methods become JSON (the ``Allow`` header kept);
* BentoML's batcher cancels requests it predicts will miss ``max_latency_ms`` with a 503: that is overload, 429
  with ``Retry-After``, like every other refusal for load.
"""

from __future__ import annotations

import json

from service.api.asgi import Message, Send, respond
from service.api.validation import RequestError


def unauthorized() -> RequestError:
    return RequestError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'", None, "unauthorized")


def method_not_allowed(path: str, method: str, allowed: str) -> RequestError:
    """405 with the ``Allow`` header RFC 9110 requires (`allowed`: e.g. "POST" or "GET, HEAD")."""
    return RequestError(
        405, f"method {method} is not allowed on {path}: use {allowed}", None, "method", [(b"allow", allowed.encode())]
    )


def overload_message(max_latency_ms: int) -> str:
    return f"server overloaded: the batch queue would exceed max latency {max_latency_ms} ms; retry"


def overloaded(max_latency_ms: int) -> RequestError:
    return RequestError(429, overload_message(max_latency_ms), None, "overloaded")


def overload_as_429(send: Send, max_latency_ms: int) -> Send:
    """A `send` that turns BentoML's "would miss max latency" 503 into the API's 429."""
    swallow = False

    async def wrapped(message: Message) -> None:
        nonlocal swallow
        if message["type"] == "http.response.start" and message["status"] == 503:
            swallow = True
            payload = json.dumps({"error": overload_message(max_latency_ms)}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                        (b"retry-after", b"1"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        if swallow:
            return
        await send(message)

    return wrapped


def json_errors(send: Send, path: str, method: str, rid: str) -> Send:
    """A `send` that turns Starlette's plain-text 404/405 into JSON ``{"error": ...}`` (keeping ``Allow``)."""
    swallow = False

    async def wrapped(message: Message) -> None:
        nonlocal swallow
        if message["type"] == "http.response.start" and message["status"] in (404, 405):
            ctype = dict(message.get("headers", [])).get(b"content-type", b"")
            if ctype.startswith(b"text/plain"):
                swallow = True
                status = message["status"]
                text = f"no such endpoint: {path}" if status == 404 else f"method {method} is not allowed on {path}"
                extra = [(k, v) for k, v in message.get("headers", []) if k == b"allow"]
                await respond(send, status, {"error": text, "request_id": rid}, extra)
                return
        if swallow:
            return
        await send(message)

    return wrapped
