"""The one API client over real HTTP, against a standard-library server on 127.0.0.1 that answers as the API does
(its error bodies, a 429 before success, a wrong number of predictions). Against the real service: every test of
tests/service/api/test_app.py and `sentiment score --via-api`."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.api.launcher import free_port
from service.client import APIError, SentimentClient

ROW = {"label": "positive", "scores": {"negative": 0.1, "neutral": 0.1, "positive": 0.8}}


class Handler(BaseHTTPRequestHandler):
    overloads_left = 0

    def answer(self, status: int, body, headers=()) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != "Bearer k":
            return self.answer(401, {"error": "missing or invalid API key", "request_id": "r1"})
        texts = body.get("texts", [])
        if "" in texts:
            return self.answer(400, {"error": "texts[1]: text is empty", "field": "texts[1]", "request_id": "r2"})
        if Handler.overloads_left:
            Handler.overloads_left -= 1
            return self.answer(429, {"error": "overloaded"}, [("Retry-After", "1")])
        return self.answer(200, [ROW] * (len(texts) - ("drop" in texts)))

    def do_GET(self):
        self.answer(200, {"name": "m"} if self.path == "/model" else {"ok": True})

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_predict_and_model(url):
    with SentimentClient(url, api_key="k") as c:
        assert c.predict_rows(["a", "b"]) == [ROW, ROW]
        assert [p.label for p in c.predict(["a"])] == ["positive"]
        assert c.model() == {"name": "m"} and c.ready()


def test_error_answers_carry_status_message_field_and_request_id(url):
    with pytest.raises(APIError) as e:
        SentimentClient(url, api_key="k").predict(["ok", ""])
    assert (e.value.status, e.value.field, e.value.request_id) == (400, "texts[1]", "r2")
    assert str(e.value) == "HTTP 400: texts[1]: text is empty"
    with pytest.raises(APIError, match="HTTP 401: missing or invalid API key"):
        SentimentClient(url).predict(["a"])


def test_overload_is_retried_when_asked(url):
    Handler.overloads_left = 1
    with pytest.raises(APIError, match="HTTP 429"):
        SentimentClient(url, api_key="k").predict(["a"])
    Handler.overloads_left = 1
    assert SentimentClient(url, api_key="k", retries=2).predict_rows(["a"]) == [ROW]


def test_a_wrong_number_of_answers_and_an_absent_server(url):
    with pytest.raises(APIError, match="returned 1 predictions for 2 texts"):
        SentimentClient(url, api_key="k").predict_rows(["a", "drop"])
    gone = SentimentClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(APIError, match="cannot reach") as e:
        gone.model()
    assert e.value.status == 0 and not gone.ready()
