"""A small typed client for the sentiment API (over httpx), used by the tests and usable from scripts. Answers are
the service's own schemas (service/core/schemas.py).

    from service.api.client import SentimentClient
    with SentimentClient("http://127.0.0.1:3000", api_key=None) as c:
        c.predict(["I love it", "meh"])   # -> [Prediction(label='positive', scores=Scores(...)), ...]

Errors come back as `APIError` with the HTTP status, the server's message and the offending field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from service.core.schemas import Explanation, Prediction


class APIError(Exception):
    """An error answer: HTTP status, the server's message, the offending field and the request id."""

    def __init__(self, status: int, message: str, field: str | None = None, request_id: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.field = field
        self.request_id = request_id


class SentimentClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> SentimentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, r: httpx.Response) -> httpx.Response:
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = r.text
            if isinstance(body, dict):
                rid = body.get("request_id") or r.headers.get("x-request-id")
                raise APIError(r.status_code, str(body.get("error", body)), body.get("field"), rid)
            raise APIError(r.status_code, str(body), None, r.headers.get("x-request-id"))
        return r

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        r = self._check(self._http.post("/predict", json={"texts": list(texts)}))
        return [Prediction.model_validate(p) for p in r.json()]

    def explain(self, text: str) -> Explanation:
        return Explanation.model_validate(self._check(self._http.post("/explain", json={"text": text})).json())

    def model(self) -> dict[str, Any]:
        return self._check(self._http.get("/model")).json()

    def ready(self) -> bool:
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def metrics(self) -> str:
        return self._check(self._http.get("/metrics")).text

    def openapi(self) -> dict[str, Any]:
        return self._check(self._http.get("/docs.json")).json()
