"""The ASGI layer in front of BentoML's API handlers (added with ``add_asgi_middleware``).

Per request, in this order:

1. a request id (the client's ``X-Request-ID`` when it is sane, else a new one), echoed in the response;
2. ``GET /model`` and ``GET /docs.json`` (service/api/openapi.py: BentoML's document plus what this layer adds);
   the browser pages (``/`` playground, ``/docs`` Swagger UI) and their files (service/api/pages.py), open;
3. the guard (service/api/guard.py): API key on everything but the health, metrics and docs endpoints (401);
   for the APIs also method (405 with ``Allow``), content type (415), concurrency limit (429), body size (413);
4. body validation (400, service/api/validation.py); valid ``/predict`` texts then take the lean hot path
   (service/api/fastpath.py; answer header ``X-Predict-Path: fast``), everything else is replayed to BentoML's own
   handlers, whose plain-text 404/405 and batcher 503 become the API's JSON errors (service/api/errors.py);
5. one JSON access-log line (and an error line for 5xx), with the request id (service/api/logs.py).

What it needs from the loaded model (its info, metrics and batch function) arrives through the explicit
`ServiceState` the service fills when its model is ready.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from service.api import errors, logs, pages
from service.api.asgi import ASGIApp, Message, Receive, Scope, Send, header, replay, respond
from service.api.fastpath import FastPredict, Overloaded
from service.api.guard import Guard
from service.api.openapi import API_PATHS, serve_docs
from service.api.settings import ServiceSettings
from service.api.state import ServiceState
from service.api.validation import RequestError, parse_explain, parse_predict

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        state: ServiceState,
        api_key: str | None,
        max_body_bytes: int,
        max_texts: int,
        max_text_chars: int,
        max_concurrency: int,
        max_latency_ms: int,
        max_batch_size: int,
        batching: bool,
        access_log: bool,
        fast_path: bool = True,
        max_batch_wait_ms: float = 5.0,
        model_threads: int = 1,
    ) -> None:
        self.app = app
        self.state = state
        self.guard = Guard(api_key.encode() if api_key else None, max_body_bytes)
        self.max_texts, self.max_text_chars = max_texts, max_text_chars
        self.max_concurrency, self.max_latency_ms = max_concurrency, max_latency_ms
        self.log_access = access_log
        self.in_flight = 0
        self._pid = os.getpid()
        self.fast_path = fast_path
        self.pages = pages.Pages()
        self._fast: FastPredict | None = None
        self._fast_options = {
            "batching": batching,
            "max_batch_size": max_batch_size,
            "max_latency_ms": max_latency_ms,
            "max_wait_s": max_batch_wait_ms / 1000,
            "model_threads": model_threads,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        raw_id = header(scope, b"x-request-id")
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
                await self._model(scope, send_with_id)
            elif path == "/docs.json" and method == "GET":
                await serve_docs(self.app, scope, receive, send_with_id)
            elif pages.serves(path):
                await self.pages(scope, send_with_id)
            else:
                if not self.guard.is_open(path) and not self.guard.authorized(scope):
                    raise errors.unauthorized()
                await self.app(scope, receive, errors.json_errors(send_with_id, path, method, rid))
        except RequestError as e:
            extra = [rid_header, *e.headers] + ([(b"retry-after", b"1")] if e.status == 429 else [])
            info["status"] = await respond(send, e.status, {**e.body(), "request_id": rid}, extra)
            info["reason"] = e.reason
            if self.state.metrics is not None:
                self.state.metrics.rejected.labels(status=str(e.status), reason=e.reason).inc()
        finally:
            if self.log_access or info["status"] >= 500:
                line = {"request_id": rid, "method": method, "path": path, "status": info["status"]}
                line.update(ms=round((time.perf_counter() - t0) * 1000, 2), pid=self._pid)
                line["client"] = (scope.get("client") or ("", 0))[0]
                if info["n_texts"] is not None:
                    line["n_texts"] = info["n_texts"]
                if "reason" in info:
                    line["reason"] = info["reason"]
                logs.log_request(line, access=self.log_access)

    async def _api(self, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        if scope["method"] != "POST":
            raise errors.method_not_allowed(scope["path"], scope["method"], "POST")
        if not self.guard.authorized(scope):
            raise errors.unauthorized()
        self.guard.check_content_type(scope)
        if self.in_flight >= self.max_concurrency:
            message = f"too many requests in flight (limit {self.max_concurrency} per worker); retry shortly"
            raise RequestError(429, message, None, "concurrency")
        self.in_flight += 1
        metrics = self.state.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        try:
            body = await self.guard.read_body(scope, receive)
            if scope["path"] == "/predict":
                texts = parse_predict(body, self.max_texts, self.max_text_chars)
                info["n_texts"] = len(texts)
                if self.fast_path:
                    info["status"] = await self._predict_fast(texts, send)
                    return
            else:
                parse_explain(body, self.max_text_chars)
            await self.app(scope, replay(body, receive), errors.overload_as_429(send, self.max_latency_ms))
        finally:
            self.in_flight -= 1
            if metrics is not None:
                metrics.in_flight.dec()

    async def _predict_fast(self, texts: list[str], send: Send) -> int:
        if self._fast is None:
            if self.state.predict_batch is None:  # never hand /predict to BentoML's handler meanwhile
                raise RequestError(503, "the model is not loaded yet; retry shortly", None, "not_ready")
            self._fast = FastPredict(self.state.predict_batch, **self._fast_options)
        try:
            rows = await self._fast(texts)
        except Overloaded:
            raise errors.overloaded(self.max_latency_ms) from None
        except Exception:  # a model failure: logged with its traceback (the access/error lines carry the id)
            logs.service_log.exception("", extra={"fields": {"event": "predict_failed"}})
            return await respond(send, 500, {"error": "prediction failed; see the server log"}, [])
        return await respond(send, 200, rows, [(b"x-predict-path", b"fast")])

    async def _model(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise errors.method_not_allowed("/model", scope["method"], "GET, HEAD")
        if not self.guard.authorized(scope):
            raise errors.unauthorized()
        if self.state.model_info is None:
            raise RequestError(503, "the model is not loaded yet", None, "not_ready")
        await respond(send, 200, self.state.model_info, [])


def middleware_options(s: ServiceSettings, state: ServiceState) -> dict[str, Any]:
    """`ServiceMiddleware` keyword arguments from the service settings (the service and the bench's no-op twin)."""
    return {
        "state": state,
        "api_key": s.api_key.get_secret_value() if s.api_key else None,
        "max_body_bytes": s.max_body_bytes,
        "max_texts": s.max_texts,
        "max_text_chars": s.max_text_chars,
        "max_concurrency": s.max_concurrency_per_worker,
        "max_latency_ms": s.max_latency_ms,
        "max_batch_size": s.max_batch_size,
        "batching": s.batching,
        "access_log": s.access_log,
        "fast_path": s.fast_path,
        "max_batch_wait_ms": s.max_batch_wait_ms,
        "model_threads": s.model_threads,
    }
