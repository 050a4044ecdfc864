"""The ASGI layer in front of BentoML's API handlers (added with ``add_asgi_middleware``).

Per request, in this order:

1. a request id (the client's ``X-Request-ID`` when it is sane, else a new one), echoed in the response;
2. ``GET /model``, ``GET /docs.json`` (service/api/openapi.py: BentoML's document plus what this layer adds) and
   the Open Inference Protocol routes under ``/v2`` (service/api/v2.py), all answered here; the browser pages
   (``/`` playground, ``/docs`` Swagger UI) and their files (service/api/pages.py), open;
3. the guard (service/api/guard.py): API key on everything but the health, metrics and docs endpoints (401);
   for the APIs also method (405 with ``Allow``), content type (415), concurrency limit (429), body size (413);
4. body validation (400, service/api/validation.py, service/api/v2.py); valid ``/predict`` texts and V2
   inferences then take the lean hot path into the batcher (service/api/fastpath.py; ``/predict`` answers with
   the header ``X-Predict-Path: fast``), ``/explain`` is replayed to BentoML's own handler, whose plain-text 404/405
   and batcher 503 become the API's JSON errors (service/api/errors.py);
5. one JSON access-log line (and an error line for 5xx), with the request id (service/api/logs.py), and for a
   sampled inference one trace span (service/api/tracing.py).

``POST /predict`` and ``POST /v2/models/{name}/infer`` share every step (`_admit`, `_in_flight`, `_predict`); only
the body's format and the answer's differ.

What it needs from the loaded model (its info, metrics and batch function) arrives through the explicit
`ServiceState` the service fills when its model is ready.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from service.api import errors, logs, pages, v2
from service.api.asgi import ASGIApp, Message, Receive, Scope, Send, header, replay, respond
from service.api.fastpath import FastPredict, Overloaded
from service.api.guard import Guard
from service.api.openapi import API_PATHS, serve_docs
from service.api.settings import ServiceSettings
from service.api.state import Row, ServiceState
from service.api.tracing import Tracing
from service.api.validation import RequestError, parse_explain, parse_predict

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_FAST_HEADER = [(b"x-predict-path", b"fast")]


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
        trace_sample: float = 0.0,
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
        self.tracing = Tracing(trace_sample)
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
        info: dict[str, Any] = {"status": 500, "n_texts": None, "t0": t0, "request_id": rid}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            if path in API_PATHS:
                await self._api(scope, receive, send_with_id, info)
            elif path == "/v2" or path.startswith("/v2/"):
                await self._v2(scope, receive, send_with_id, info)
            elif path == "/model":
                await self._model(scope, send_with_id)
            elif path == "/docs.json" and method == "GET":
                limits = (self.max_texts, self.max_text_chars)
                await serve_docs(self.app, scope, receive, send_with_id, self.state.model_info, limits)
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
            if self.state.metrics is not None and e.reason != "predict_failed":
                self.state.metrics.rejected.labels(status=str(e.status), reason=e.reason).inc()
        finally:
            if self.log_access or info["status"] >= 500:
                line = {"request_id": rid, "method": method, "path": path, "status": info["status"]}
                line.update(ms=round((time.perf_counter() - t0) * 1000, 2), pid=self._pid)
                line["client"] = (scope.get("client") or ("", 0))[0]
                for key in ("n_texts", "reason", "trace_id"):
                    if info.get(key) is not None:
                        line[key] = info[key]
                logs.log_request(line, access=self.log_access)

    # -- the steps an API request takes, shared by /predict, /explain and the V2 inference --------------------

    def _admit(self, scope: Scope) -> None:
        """Method (405) and API key (401): service/api/guard.py."""
        if scope["method"] != "POST":
            raise errors.method_not_allowed(scope["path"], scope["method"], "POST")
        if not self.guard.authorized(scope):
            raise errors.unauthorized()

    @asynccontextmanager
    async def _in_flight(self) -> AsyncIterator[None]:
        """The per-worker concurrency limit (429) and the in-flight gauge, for the time of the request."""
        if self.in_flight >= self.max_concurrency:
            message = f"too many requests in flight (limit {self.max_concurrency} per worker); retry shortly"
            raise RequestError(429, message, None, "concurrency")
        self.in_flight += 1
        metrics = self.state.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        try:
            yield
        finally:
            self.in_flight -= 1
            if metrics is not None:
                metrics.in_flight.dec()

    async def _predict(self, texts: list[str], scope: Scope, info: dict[str, Any], route: str) -> list[Row]:
        """Valid texts -> the batcher (fastpath.py) -> ``TweetSentiment.predict_batch`` (model, metrics) -> rows;
        a trace span when the request is sampled (tracing.py). Overload is 429, a model failure 500 (logged)."""
        info["n_texts"] = len(texts)
        parent = self.tracing.decide(scope)  # None: not sampled (nothing is created)
        status, answer = 500, None
        try:
            answer = await self._batcher()(texts)
            status = 200
            return answer.rows
        except Overloaded:
            status = 429
            raise errors.overloaded(self.max_latency_ms) from None
        except RequestError as e:  # 503 before the model is loaded
            status = e.status
            raise
        except Exception:  # a model failure: logged with its traceback (the access/error lines carry the id)
            logs.service_log.exception("", extra={"fields": {"event": "predict_failed"}})
            raise RequestError(500, "prediction failed; see the server log", None, "predict_failed") from None
        finally:
            if parent is not None:
                attributes: dict[str, Any] = {
                    "http.request.method": "POST",
                    "http.route": route,
                    "sentiment.request_id": info["request_id"],
                    "sentiment.text_count": len(texts),
                }
                if answer is not None:
                    attributes["sentiment.batch_size"] = answer.batch_size
                    attributes["sentiment.queue_wait_ms"] = round((answer.started - info["t0"]) * 1000, 3)
                    attributes["sentiment.model_ms"] = round(answer.model_s * 1000, 3)
                info["trace_id"] = self.tracing.record(parent, f"POST {route}", info["t0"], status, attributes)

    def _batcher(self) -> FastPredict:
        if self._fast is None:
            if self.state.predict_batch is None:  # never hand /predict to BentoML's handler meanwhile
                raise RequestError(503, "the model is not loaded yet; retry shortly", None, "not_ready")
            self._fast = FastPredict(self.state.predict_batch, **self._fast_options)
        return self._fast

    # -- the routes ---------------------------------------------------------------------------------------

    async def _api(self, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        """``POST /predict`` and ``POST /explain``."""
        self._admit(scope)  # 405, 401
        self.guard.check_content_type(scope)  # 415
        async with self._in_flight():
            body = await self.guard.read_body(scope, receive)
            if scope["path"] == "/predict":
                texts = parse_predict(body, self.max_texts, self.max_text_chars)
                if self.fast_path:
                    rows = await self._predict(texts, scope, info, "/predict")
                    await respond(send, 200, rows, _FAST_HEADER)
                    return
                info["n_texts"] = len(texts)
            else:
                parse_explain(body, self.max_text_chars)
            await self.app(scope, replay(body, receive), errors.overload_as_429(send, self.max_latency_ms))

    async def _v2_infer(self, r: v2.Route, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        """``POST /v2/models/{name}[/versions/{version}]/infer``: the steps of ``/predict``, V2 in and out."""
        self._admit(scope)  # 405, 401
        v2.refuse_binary(scope)  # 415: the binary tensor extension is not implemented
        self.guard.check_content_type(scope)  # 415
        model = self._loaded_model()  # 503 until the model is ready
        v2.check_model(r, model)  # 404: another model or version
        async with self._in_flight():  # 429
            body = await self.guard.read_body(scope, receive)  # 413
            request = v2.parse_infer(body, self.max_texts, self.max_text_chars)  # 400
            rows = await self._predict(request.texts, scope, info, "/v2/models/{name}/infer")  # batcher, model, span
            await respond(send, 200, v2.infer_response(request, rows, model), [])

    async def _v2(self, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        """The Open Inference Protocol routes (service/api/v2.py): inference, and the GET routes below."""
        r = v2.route(scope["path"])
        if r is None:
            raise RequestError(404, f"no such endpoint: {scope['path']}", None, "not_found")
        if r.kind == "infer":
            return await self._v2_infer(r, scope, receive, send, info)
        if scope["method"] not in ("GET", "HEAD"):
            raise errors.method_not_allowed(scope["path"], scope["method"], "GET, HEAD")
        if r.kind not in ("live", "ready") and not self.guard.authorized(scope):  # the health routes are open
            raise errors.unauthorized()
        await respond(send, 200, self._v2_answer(r), [])

    def _v2_answer(self, r: v2.Route) -> dict[str, Any]:
        """Server liveness and metadata; server readiness, model metadata and model readiness once loaded."""
        if r.kind == "live":
            return {"live": True}
        if r.kind == "server":
            return v2.server_metadata()
        model = self._loaded_model()
        if r.kind == "ready":
            return {"ready": True}
        v2.check_model(r, model)
        return v2.model_metadata(model) if r.kind == "model" else {"name": model["name"], "ready": True}

    def _loaded_model(self) -> dict[str, Any]:
        if self.state.model_info is None:
            raise RequestError(503, "the model is not loaded yet; retry shortly", None, "not_ready")
        return self.state.model_info

    async def _model(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise errors.method_not_allowed("/model", scope["method"], "GET, HEAD")
        if not self.guard.authorized(scope):
            raise errors.unauthorized()
        await respond(send, 200, self._loaded_model(), [])


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
        "trace_sample": s.trace_sample,
    }
