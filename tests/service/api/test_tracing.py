"""Sampled OpenTelemetry spans (service/api/tracing.py): the sampling decision, and a real server exporting to a
real OTLP/HTTP receiver on 127.0.0.1 (a tiny HTTP server here, decoding the protobuf ExportTraceServiceRequest)."""

from __future__ import annotations

import http.server
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from service.api.tracing import ROOT, Tracing
from tests.conftest import running_server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TEXTS = ["a very private tweet about my cat", "another secret one :("]


def scope(traceparent: bytes | None = None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    return {"headers": headers + ([(b"traceparent", traceparent)] if traceparent is not None else [])}


def test_ratio_zero_creates_nothing_and_parents_decide() -> None:
    off = Tracing(0.0, enabled=True)
    assert off.decide(scope()) is None
    sampled = f"00-{TRACE_ID}-{PARENT_ID}-01".encode()
    assert off.decide(scope(sampled)) is not None  # a sampled parent is followed even at ratio 0
    always = Tracing(1.0, enabled=True)
    assert always.decide(scope()) is ROOT
    assert always.decide(scope(f"00-{TRACE_ID}-{PARENT_ID}-00".encode())) is None  # an unsampled parent wins at 1.0
    assert always.decide(scope(b"00-garbage")) is ROOT  # an invalid traceparent: a root
    assert Tracing(1.0, enabled=False).decide(scope(sampled)) is None  # no exporter endpoint: tracing is off


def test_ratio_is_the_share_of_sampled_roots() -> None:
    tracing = Tracing(0.1, enabled=True, draw=random.Random(7).random)  # seeded draws: a stable share
    share = sum(tracing.decide(scope()) is not None for _ in range(20_000)) / 20_000
    assert 0.09 < share < 0.11


def test_no_endpoint_means_no_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    assert not Tracing(1.0).enabled
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert Tracing(0.05).enabled and Tracing(0.0).enabled  # at 0, sampled parents are still followed


class Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: every span of every export, and the raw bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.spans: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        self.server.bodies.append(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attrs = {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes}
                    self.server.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "attributes": attrs,
                        }
                    )
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for(receiver: Receiver, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    t0 = time.monotonic()
    while len(receiver.spans) < n and time.monotonic() - t0 < timeout:
        time.sleep(0.1)
    return receiver.spans


@pytest.mark.slow
def test_spans_arrive_with_their_attributes_and_parent(tiny_model: Path, receiver: Receiver, tmp_path: Path) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export quickly
        "SENTIMENT_TRACE_SAMPLE": "1.0",
    }
    log = tmp_path / "server.log"
    with running_server(tiny_model, "--workers", "1", env=env, log_path=log) as url:
        name = httpx.get(f"{url}/model").json()["name"]
        v2_body = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": TEXTS}]}
        sampled = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        unsampled = {"traceparent": f"00-{'1' * 32}-{'2' * 16}-00"}
        assert httpx.post(f"{url}/predict", json={"texts": TEXTS}).status_code == 200  # a root
        assert httpx.post(f"{url}/predict", json={"texts": TEXTS}, headers=sampled).status_code == 200
        assert httpx.post(f"{url}/v2/models/{name}/infer", json=v2_body, headers=sampled).status_code == 200
        assert httpx.post(f"{url}/predict", json={"texts": TEXTS}, headers=unsampled).status_code == 200
        spans = wait_for(receiver, 3)
        time.sleep(0.5)  # nothing more may arrive (the unsampled parent)
    assert len(receiver.spans) == 3, receiver.spans
    root, child, v2_child = spans
    assert root["name"] == child["name"] == "POST /predict" and v2_child["name"] == "POST /v2/models/{name}/infer"
    assert root["parent_span_id"] == "" and root["trace_id"] not in (TRACE_ID, "1" * 32)
    for span in (child, v2_child):  # in the caller's trace, under the caller's span
        assert span["trace_id"] == TRACE_ID and span["parent_span_id"] == PARENT_ID
    for span in spans:
        a = span["attributes"]
        assert a["sentiment.text_count"] == 2 and a["sentiment.batch_size"] >= 2
        assert a["sentiment.queue_wait_ms"] >= 0 and a["sentiment.model_ms"] > 0
        assert a["http.response.status_code"] == 200 and a["sentiment.request_id"]
    for body in receiver.bodies:  # the texts never leave the server
        assert all(t.encode() not in body for t in TEXTS)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("event") == "access" and x["method"] == "POST"]
    assert [x.get("trace_id") for x in access] == [root["trace_id"], TRACE_ID, TRACE_ID, None]  # logs meet traces
    assert [x["request_id"] for x in access[:3]] == [s["attributes"]["sentiment.request_id"] for s in spans]
