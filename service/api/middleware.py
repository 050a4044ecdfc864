"""The ASGI layer in front of BentoML's API handlers (added with ``add_asgi_middleware``).

Per request, in this order:

1. a request id (the client's ``X-Request-ID`` when it is sane, else a new one), echoed in the response;
2. ``GET /model`` and ``GET /docs.json`` (BentoML APIs are POST-only; /docs.json gets GET /model and the
   error responses added);
3. API key (``Authorization: Bearer <key>`` or ``X-API-Key``; constant-time compare) on everything but the
   health, metrics and docs endpoints -> 401;
4. for the APIs: method (405), content type (415), concurrency limit (429), body size (413, checked on
   ``Content-Length`` and while reading), body validation (400, see service/api/validation.py); valid ``/predict``
   texts then go to BentoML's batcher through the lean hot path (service/api/fastpath.py; answer header
   ``X-Predict-Path: fast``), everything else is replayed to BentoML's own handlers;
5. BentoML's plain-text 404/405 become JSON, and the batcher's "would miss max latency" 503 becomes 429;
6. one JSON access-log line (and an error line for 5xx), with the request id.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.api.fastpath import FastPredict, Overloaded
from service.api.settings import ServiceSettings
from service.api.validation import RequestError, parse_explain, parse_predict

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/livez", "/healthz", "/readyz", "/metrics", "/docs.json", "/"})
OPEN_PREFIXES = ("/static_content/", "/assets/")
API_PATHS = frozenset({"/predict", "/explain"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_JSON_TYPE = re.compile(r"^application/([a-z0-9.\-]+\+)?json$")

STATE: dict[str, Any] = {"model_info": None, "metrics": None}  # filled by the service in the worker

access_log = logging.getLogger("sentiment.access")
error_log = logging.getLogger("sentiment.error")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message and the record's ``fields`` extra."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_json_logging() -> None:
    """Our loggers write JSON lines to stderr; BentoML's and uvicorn's loggers are switched to JSON too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("sentiment.access", "sentiment.error", "sentiment.service"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(logging.INFO)
        lg.propagate = False
    for name in ("", "bentoml", "uvicorn", "uvicorn.error"):
        for h in logging.getLogger(name).handlers:
            h.setFormatter(JsonFormatter())


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v
    return None


async def _respond(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> int:
    payload = json.dumps(body, separators=(",", ":")).encode()
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


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        max_body_bytes: int,
        max_texts: int,
        max_text_chars: int,
        max_concurrency: int,
        max_latency_ms: int,
        access_log: bool,
        fast_path: bool = True,
        max_batch_wait_ms: float = 5.0,
        openapi_extra: dict[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes
        self.max_texts = max_texts
        self.max_text_chars = max_text_chars
        self.max_concurrency = max_concurrency
        self.max_latency_ms = max_latency_ms
        self.log_access = access_log
        self.openapi_extra = openapi_extra or {}
        self.in_flight = 0
        self._pid = os.getpid()
        self.fast_path = fast_path
        self._fast: FastPredict | None = None
        self.max_batch_wait_s = max_batch_wait_ms / 1000

    # --- checks ---------------------------------------------------------------------------------------------
    def _authorized(self, scope: Scope) -> bool:
        if self.api_key is None:
            return True
        token = b""
        auth = _header(scope, b"authorization")
        if auth is not None and auth[:7].lower() == b"bearer ":
            token = auth[7:].strip()
        else:
            token = _header(scope, b"x-api-key") or b""
        return hmac.compare_digest(token, self.api_key)

    def _check_content_type(self, scope: Scope) -> None:
        raw = _header(scope, b"content-type")
        if raw is None:
            return  # BentoML reads a body without a content type as JSON
        ctype = raw.decode("latin-1").split(";")[0].strip().lower()
        if not _JSON_TYPE.match(ctype):
            raise RequestError(
                415, f"content type {ctype or '(empty)'!r} is not supported: send application/json", None, "media_type"
            )
        params = raw.decode("latin-1").lower().split(";")[1:]
        for p in params:
            key, _, value = p.strip().partition("=")
            if key == "charset" and value.strip('"') not in ("utf-8", "utf8"):
                raise RequestError(415, f"charset {value!r} is not supported: send UTF-8", None, "media_type")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(
                413, f"request body is {int(declared)} bytes, the limit is {limit} bytes", None, "body_too_large"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "client disconnected before sending the whole body", None, "disconnect")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"request body exceeds the limit of {limit} bytes", None, "body_too_large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    # --- ASGI -----------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        raw_id = _header(scope, b"x-request-id")
        rid = raw_id.decode("latin-1") if raw_id and _REQUEST_ID.match(raw_id.decode("latin-1")) else None
        rid = rid or os.urandom(8).hex()
        rid_header = (b"x-request-id", rid.encode())
        path, method = scope["path"], scope["method"]
        info: dict[str, Any] = {"status": 500, "n_texts": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            if path in API_PATHS:
                await self._api(scope, receive, send_with_id, info)
            elif path == "/model":
                await self._model(scope, send_with_id, info)
            elif path == "/docs.json" and method == "GET":
                await self._docs(scope, receive, send_with_id)
            else:
                if not self._authorized(scope) and path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES):
                    raise _unauthorized()
                await self.app(scope, receive, _json_errors(send_with_id, path, method, rid))
        except RequestError as e:
            extra = [rid_header, *e.headers] + ([(b"retry-after", b"1")] if e.status == 429 else [])
            info["status"] = await _respond(send, e.status, {**e.body(), "request_id": rid}, extra)
            info["reason"] = e.reason
            metrics = STATE["metrics"]
            if metrics is not None:
                metrics.rejected.labels(status=str(e.status), reason=e.reason).inc()
        finally:
            status = info["status"]
            if self.log_access:
                fields = {
                    "event": "access",
                    "request_id": rid,
                    "method": method,
                    "path": path,
                    "status": status,
                    "ms": round((time.perf_counter() - t0) * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                    "pid": self._pid,
                }
                if info["n_texts"] is not None:
                    fields["n_texts"] = info["n_texts"]
                if "reason" in info:
                    fields["reason"] = info["reason"]
                access_log.info("", extra={"fields": fields})
            if status >= 500:
                fields = {"event": "error", "request_id": rid, "method": method, "path": path, "status": status}
                error_log.error("", extra={"fields": fields})

    async def _api(self, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        if scope["method"] != "POST":
            raise _method_not_allowed(scope["path"], scope["method"], "POST")
        if not self._authorized(scope):
            raise _unauthorized()
        self._check_content_type(scope)
        if self.in_flight >= self.max_concurrency:
            raise RequestError(
                429,
                f"too many requests in flight (limit {self.max_concurrency} per worker); retry shortly",
                None,
                "concurrency",
            )
        self.in_flight += 1
        metrics = STATE["metrics"]
        if metrics is not None:
            metrics.in_flight.inc()
        try:
            body = await self._read_body(scope, receive)
            if scope["path"] == "/predict":
                texts = parse_predict(body, self.max_texts, self.max_text_chars)
                info["n_texts"] = len(texts)
                fast = self._fast_predict(scope)
                if fast is not None:
                    await self._predict_fast(fast, texts, send, info)
                    return
            else:
                parse_explain(body, self.max_text_chars)
            await self.app(scope, _replay(body, receive), _overload_as_429(send, self.max_latency_ms))
        finally:
            self.in_flight -= 1
            if metrics is not None:
                metrics.in_flight.dec()

    def _fast_predict(self, scope: Scope) -> FastPredict | None:
        """The hot path, found once BentoML has created the service instance (None: use BentoML's handler)."""
        if self._fast is None and self.fast_path and STATE["model_info"] is not None:
            self._fast = FastPredict.discover(scope.get("app"), max_wait_s=self.max_batch_wait_s)
            if self._fast is None:
                self.fast_path = False
                logging.getLogger("sentiment.service").warning(
                    "",
                    extra={"fields": {"event": "fast_path_unavailable", "detail": "BentoML internals differ"}},
                )
        return self._fast

    async def _predict_fast(self, fast: FastPredict, texts: list[str], send: Send, info: dict[str, Any]) -> None:
        try:
            rows = await fast(texts)
        except Overloaded:
            raise RequestError(429, _overload_message(self.max_latency_ms), None, "overloaded") from None
        except Exception:  # a model failure: logged with its traceback (the access/error lines carry the id)
            logging.getLogger("sentiment.service").exception("", extra={"fields": {"event": "predict_failed"}})
            info["status"] = await _respond(send, 500, {"error": "prediction failed; see the server log"}, [])
            return
        info["status"] = await _respond(send, 200, rows, [(b"x-predict-path", b"fast")])

    async def _model(self, scope: Scope, send: Send, info: dict[str, Any]) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise _method_not_allowed("/model", scope["method"], "GET, HEAD")
        if not self._authorized(scope):
            raise _unauthorized()
        model_info = STATE["model_info"]
        if model_info is None:
            raise RequestError(503, "the model is not loaded yet", None, "not_ready")
        info["status"] = await _respond(send, 200, model_info, [])

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start.get("status") != 200:
            await _respond(send, start.get("status", 500), {"error": "could not build the OpenAPI spec"}, [])
            return
        spec = json.loads(b"".join(chunks))
        for path, item in self.openapi_extra.get("paths", {}).items():
            spec["paths"].setdefault(path, {}).update(item)
        for path, responses in self.openapi_extra.get("responses", {}).items():
            if path in spec["paths"] and "post" in spec["paths"][path]:
                spec["paths"][path]["post"]["responses"].update(responses)
        for path in self.openapi_extra.get("body_required", ()):
            body = spec["paths"].get(path, {}).get("post", {}).get("requestBody")
            if body is not None:
                body["required"] = True  # the APIs answer 400 to an empty body
                for media in body.get("content", {}).values():  # ... and to unknown fields
                    media.get("schema", {}).setdefault("additionalProperties", False)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(self.openapi_extra.get("schemas", {}))
        await _respond(send, 200, spec, [])


def middleware_options(s: ServiceSettings) -> dict[str, Any]:
    """`ServiceMiddleware` keyword arguments from the service settings (the service and the bench's no-op twin)."""
    return {
        "api_key": s.api_key.get_secret_value() if s.api_key else None,
        "max_body_bytes": s.max_body_bytes,
        "max_texts": s.max_texts,
        "max_text_chars": s.max_text_chars,
        "max_concurrency": s.max_concurrency_per_worker,
        "max_latency_ms": s.max_latency_ms,
        "access_log": s.access_log,
        "fast_path": s.fast_path,
        "max_batch_wait_ms": s.max_batch_wait_ms,
    }


def _unauthorized() -> RequestError:
    return RequestError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'", None, "unauthorized")


def _method_not_allowed(path: str, method: str, allowed: str) -> RequestError:
    """405 with the ``Allow`` header RFC 9110 requires (`allowed`: e.g. "POST" or "GET, HEAD")."""
    return RequestError(
        405, f"method {method} is not allowed on {path}: use {allowed}", None, "method", [(b"allow", allowed.encode())]
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


def _overload_as_429(send: Send, max_latency_ms: int) -> Send:
    """The batcher cancels requests it predicts will miss ``max_latency_ms`` (BentoML answers 503): say 429."""
    swallow = False

    async def wrapped(message: Message) -> None:
        nonlocal swallow
        if message["type"] == "http.response.start" and message["status"] == 503:
            swallow = True
            payload = json.dumps({"error": _overload_message(max_latency_ms)}).encode()
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


def _overload_message(max_latency_ms: int) -> str:
    return f"server overloaded: the batch queue would exceed max latency {max_latency_ms} ms; retry"


def _json_errors(send: Send, path: str, method: str, rid: str) -> Send:
    """Starlette's plain-text 404/405 for unknown paths and methods become JSON ``{"error": ...}``."""
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
                await _respond(send, status, {"error": text, "request_id": rid}, extra)
                return
        if swallow:
            return
        await send(message)

    return wrapped
