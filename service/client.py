"""The one client of the sentiment HTTP API (standard library only), used by `sentiment score --via-api`
(service/batch/engines/api.py), the tests and scripts. Answers are the service's own schemas
(service/core/schemas.py).

    from service.client import SentimentClient
    with SentimentClient("http://127.0.0.1:3000", api_key=None) as c:
        c.predict(["I love it", "meh"])   # -> [Prediction(label='positive', scores=Scores(...)), ...]

Errors come back as `APIError` with the HTTP status (0: nothing answered), the server's message, the offending
field and the request id. Overload answers (429, 503) are retried with backoff, `retries` times.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from service.core.schemas import Explanation, Prediction

RETRIED = (429, 503)  # overload: the request was not run, sending it again is safe


class APIError(Exception):
    """An error answer: HTTP status (0 when the server could not be reached), the server's message, the offending
    field and the request id."""

    def __init__(self, status: int, message: str, field: str | None = None, request_id: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.field = field
        self.request_id = request_id


def _error(e: urllib.error.HTTPError) -> APIError:
    raw = e.read()
    rid = e.headers.get("x-request-id")
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw[:300].decode("utf-8", "replace")
    if isinstance(body, dict):
        return APIError(e.code, str(body.get("error", body)), body.get("field"), body.get("request_id") or rid)
    return APIError(e.code, str(body), None, rid)


class SentimentClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0, retries: int = 0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def __enter__(self) -> SentimentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (one connection per request); kept for ``with`` and callers that close clients."""

    def request(self, method: str, path: str, body: Any = None) -> bytes:
        """The answer's body; `APIError` for an error status or when nothing answered."""
        data = None if body is None else json.dumps(body).encode()
        delay = 0.5
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url + path, data=data, headers=self.headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    return r.read()
            except urllib.error.HTTPError as e:
                if e.code in RETRIED and attempt < self.retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise _error(e) from e
            except OSError as e:  # URLError, a refused or reset connection, a timeout
                raise APIError(0, f"cannot reach {self.url}{path}: {e}") from e
        raise AssertionError("not reached")

    def predict_rows(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """``POST /predict`` as the server answered it: one ``{"label", "scores"}`` per text, in order."""
        out = json.loads(self.request("POST", "/predict", {"texts": list(texts)}))
        if not isinstance(out, list) or len(out) != len(texts):
            n = len(out) if isinstance(out, list) else type(out).__name__
            raise APIError(200, f"{self.url}/predict returned {n} predictions for {len(texts)} texts")
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [Prediction.model_validate(p) for p in self.predict_rows(texts)]

    def explain(self, text: str) -> Explanation:
        return Explanation.model_validate_json(self.request("POST", "/explain", {"text": text}))

    def model(self) -> dict[str, Any]:
        return json.loads(self.request("GET", "/model"))

    def ready(self) -> bool:
        try:
            self.request("GET", "/readyz")
            return True
        except APIError:
            return False

    def metrics(self) -> str:
        return self.request("GET", "/metrics").decode()

    def openapi(self) -> dict[str, Any]:
        return json.loads(self.request("GET", "/docs.json"))
