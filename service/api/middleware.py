"""The ASGI layer in front of BentoML (added with ``add_asgi_middleware``): it answers the inference routes itself.

``POST /predict`` has one handler, `ServiceMiddleware._predict_route`, whose body is the route, step by step (the
names are those of the ``Server-Timing`` header each answer carries, service/api/steps.py):

``dispatch`` (request id, route by path: `__call__`) -> ``admit`` (method 405, API key 401, content type 415:
guard.py) -> ``limit`` (concurrency 429: `_in_flight`) -> ``read`` (body size 413: guard.py) -> ``parse`` (the
body checked, once: validation.py, 400) -> ``queue`` (BentoML's adaptive batcher: batching.py,
bentoml_adapter.py; 429 when it sheds) -> ``model`` (``TweetSentiment.predict_batch`` in app.py, in a thread) ->
``answer`` (JSON: asgi.py); then the access-log line (logs.py) and, when sampled, the span (tracing.py).

``POST /v2/models/{name}/infer`` takes the same steps (`_v2_infer`; v2.py parses and shapes its V2 body).
``POST /explain`` is checked the same way, then replayed to BentoML's handler (``TweetSentiment.explain``), whose
plain-text 404/405 and batcher 503 become the API's JSON errors (errors.py). ``GET /model``, ``GET /docs.json``
(openapi.py), the ``/v2`` GET routes (v2.py) and the browser pages (pages.py) are answered here too; every other
path goes to BentoML behind the API key check (health, metrics).

What it needs from the loaded model (its info, metrics and batch function) arrives through the explicit
`ServiceState` the service fills when its model is ready (state.py).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from service.api import errors, logs, pages, v2
from service.api.asgi import ASGIApp, Message, Receive, Scope, Send, header, json_payload, replay, respond, send_json
from service.api.batching import Answer, BatchedModel, Overloaded
from service.api.guard import Guard
from service.api.openapi import serve_docs
from service.api.settings import ServiceSettings
from service.api.state import ServiceState
from service.api.steps import Steps
from service.api.tracing import Tracing
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
        self.pages = pages.Pages()
        self.tracing = Tracing(trace_sample)
        self._batcher: BatchedModel | None = None  # made on the first inference once the model is ready
        self._batcher_options = {
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
            if path == "/predict":
                await self._predict_route(scope, receive, send_with_id, info)
            elif path == "/explain":
                await self._explain_route(scope, receive, send_with_id)
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

    # -- the inference routes: one handler each, its body the steps in order -------------------------------

    async def _predict_route(self, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        """``POST /predict``: the only handler of the route. Each step ends with ``steps.done(name)``; the names,
        in this order, are the answer's ``Server-Timing`` header and the route in docs/architecture.md."""
        steps = Steps(info["t0"])
        steps.done("dispatch")  # __call__: request id, route by path
        self._admit(scope)  # guard.py: method 405, API key 401, content type 415
        steps.done("admit")
        async with self._in_flight():  # concurrency 429
            steps.done("limit")
            body = await self.guard.read_body(scope, receive)  # guard.py: body size 413
            steps.done("read")
            texts = parse_predict(body, self.max_texts, self.max_text_chars)  # validation.py: 400
            steps.done("parse")
            answer = await self._predict(texts, scope, info, "/predict", steps)  # queue, model: batching.py, app.py
            payload = json_payload(answer.rows)  # asgi.py
            steps.done("answer")
            await send_json(send, 200, payload, [steps.header()])

    async def _v2_infer(self, r: v2.Route, scope: Scope, receive: Receive, send: Send, info: dict[str, Any]) -> None:
        """``POST /v2/models/{name}[/versions/{version}]/infer``: the steps of ``/predict``, V2 in and out."""
        steps = Steps(info["t0"])
        steps.done("dispatch")
        self._admit(scope, binary_refused=True)  # 405, 401, 415
        model = self._loaded_model()  # 503 until the model is ready
        v2.check_model(r, model)  # 404: another model or version
        steps.done("admit")
        async with self._in_flight():  # 429
            steps.done("limit")
            body = await self.guard.read_body(scope, receive)  # 413
            steps.done("read")
            request = v2.parse_infer(body, self.max_texts, self.max_text_chars)  # 400
            steps.done("parse")
            answer = await self._predict(request.texts, scope, info, "/v2/models/{name}/infer", steps)
            payload = json_payload(v2.infer_response(request, answer.rows, model))
            steps.done("answer")
            await send_json(send, 200, payload, [steps.header()])

    async def _explain_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /explain``: checked like ``/predict``, then replayed to BentoML's handler (app.py)."""
        self._admit(scope)  # 405, 401, 415
        async with self._in_flight():  # 429
            body = await self.guard.read_body(scope, receive)  # 413
            parse_explain(body, self.max_text_chars)  # 400
            await self.app(scope, replay(body, receive), errors.overload_as_429(send, self.max_latency_ms))

    # -- the steps they share ---------------------------------------------------------------------------------

    def _admit(self, scope: Scope, binary_refused: bool = False) -> None:
        """Method (405), API key (401), content type (415): service/api/guard.py (and v2.py's binary refusal)."""
        if scope["method"] != "POST":
            raise errors.method_not_allowed(scope["path"], scope["method"], "POST")
        if not self.guard.authorized(scope):
            raise errors.unauthorized()
        if binary_refused:
            v2.refuse_binary(scope)  # the binary tensor extension is not implemented
        self.guard.check_content_type(scope)

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

    async def _predict(self, texts: list[str], scope: Scope, info: dict[str, Any], route: str, steps: Steps) -> Answer:
        """Valid texts -> the batcher (batching.py) -> ``TweetSentiment.predict_batch`` (app.py: model, metrics):
        the steps ``queue`` and ``model``; a trace span when the request is sampled (tracing.py). Overload is 429,
        a model failure 500 (logged)."""
        info["n_texts"] = len(texts)
        parent = self.tracing.decide(scope)  # None: not sampled (nothing is created)
        status, answer = 500, None
        try:
            answer = await self._model_batcher()(texts)
            status = 200
            steps.took("queue", max(0.0, answer.started - steps.last))  # waiting for the model, in the batcher
            steps.took("model", answer.model_s)  # the model call, in a worker thread
            return answer
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

    def _model_batcher(self) -> BatchedModel:
        if self._batcher is None:
            if self.state.predict_batch is None:
                raise RequestError(503, "the model is not loaded yet; retry shortly", None, "not_ready")
            self._batcher = BatchedModel(self.state.predict_batch, **self._batcher_options)
        return self._batcher

    # -- the other routes answered here ---------------------------------------------------------------------------

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
        "max_batch_wait_ms": s.max_batch_wait_ms,
        "model_threads": s.model_threads,
        "trace_sample": s.trace_sample,
    }
