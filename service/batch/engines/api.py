"""`sentiment score --via-api URL`: the local streaming job, with the model replaced by a running service.

Texts go to ``POST URL/predict {"texts": [...]}`` in requests of at most `batch_size` texts, several in flight
(the server's adaptive batcher merges them); answers must be one ``{"label", "scores"}`` per text, in order.
Everything else (formats, order, rejects, exactly-once commits and ``--resume``) is the local engine's
(service/batch/engines/local.py).
Overload answers (429, 503) are retried with backoff; any other failure stops the job, keeping what was committed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from service.batch.engines.local import score_file
from service.batch.job import JobOptions
from service.batch.rows import ScoreSummary, ScoringError
from service.client import APIError, SentimentClient
from service.core.labels import LABELS


class ApiScorer:
    def __init__(
        self,
        url: str,
        batch_size: int = 64,
        concurrency: int = 4,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 5,
    ) -> None:
        self.client = SentimentClient(url, api_key=api_key, timeout=timeout_s, retries=retries)
        self.url = self.client.url
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_text_chars: int | None = None  # the server's limits, from GET /model before the first batch
        self.fitted = False
        self.labels = list(LABELS)
        self.version = f"api:{self.url}"

    def fingerprint(self) -> dict[str, Any]:
        return {"name": "api", "version": self.version, "sha256": None}

    def _fit_to_server(self) -> None:
        """Requests within the server's limits: at most `max_texts` texts of at most `max_text_chars` characters
        (longer texts are cut; the model reads at most 64 tokens anyway)."""
        limits = self._call(self.client.model).get("limits") or {}  # a server without the field: no limits known
        self.max_text_chars = limits.get("max_text_chars")
        self.batch_size = min(self.batch_size, limits.get("max_texts") or self.batch_size)
        self.fitted = True

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except APIError as e:
            raise ScoringError(f"{self.url} answered {e.status}: {e.message}" if e.status else str(e)) from e

    def _post(self, texts: list[str]) -> list[dict[str, Any]]:
        return self._call(self.client.predict_rows, [t[: self.max_text_chars] for t in texts])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        probs = np.empty((len(texts), len(self.labels)), dtype=np.float32)  # (N, C)
        if not texts:
            return probs
        if not self.fitted:
            self._fit_to_server()
        chunks = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        with ThreadPoolExecutor(self.concurrency) as pool:
            answers = [p for chunk in pool.map(self._post, chunks) for p in chunk]  # map keeps the order
        for i, a in enumerate(answers):
            try:
                probs[i] = [a["scores"][lab] for lab in self.labels]
            except (KeyError, TypeError) as e:
                raise ScoringError(f"{self.url}/predict: answer {i} is not {{label, scores}}: {a!r:.200}") from e
        return probs


def score_file_via_api(
    url: str,
    input_path: str,
    output_path: str,
    options: JobOptions | None = None,
    *,
    batch_size: int = 64,
    api_key: str | None = None,
    **job: Any,
) -> ScoreSummary:
    """The local job with the model replaced by the service at `url`."""
    scorer = ApiScorer(url, batch_size=batch_size, api_key=api_key)
    return score_file(scorer, input_path, output_path, options or JobOptions(**job))
