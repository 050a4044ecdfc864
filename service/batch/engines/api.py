"""`sentiment score --via-api URL`: the local streaming job, with the model replaced by a running service.

Texts go to ``POST URL/predict {"texts": [...]}`` in requests of at most `batch_size` texts, several in flight
(the server's adaptive batcher merges them); answers must be one ``{"label", "scores"}`` per text, in order.
Everything else (formats, order, rejects, exactly-once commits and ``--resume``) is the local engine's
(service/batch/engines/local.py).
Overload answers (429, 503) are retried with backoff; any other failure stops the job, keeping what was committed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from service.batch.engines.local import score_file
from service.batch.job import JobOptions
from service.batch.rows import ScoreSummary, ScoringError
from service.core.labels import LABELS

MAX_TEXT_CHARS = 2000  # the service's default per-text limit; the model reads at most 64 tokens anyway


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
        self.url = url.rstrip("/")
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.labels = list(LABELS)
        self.version = f"api:{self.url}"

    def fingerprint(self) -> dict[str, Any]:
        return {"name": "api", "version": self.version, "sha256": None}

    def _post(self, texts: list[str]) -> list[dict[str, Any]]:
        body = json.dumps({"texts": [t[:MAX_TEXT_CHARS] for t in texts]}).encode()
        delay = 0.5
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url + "/predict", data=body, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                    out = json.loads(r.read())
                break
            except urllib.error.HTTPError as e:
                detail = e.read()[:300].decode("utf-8", "replace")
                if e.code in (429, 503) and attempt < self.retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise ScoringError(f"{self.url}/predict answered {e.code}: {detail}") from e
            except (urllib.error.URLError, OSError) as e:
                raise ScoringError(f"cannot reach {self.url}/predict: {e}") from e
        if not isinstance(out, list) or len(out) != len(texts):
            n = len(out) if isinstance(out, list) else type(out).__name__
            raise ScoringError(f"{self.url}/predict returned {n} predictions for {len(texts)} texts")
        return out

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        probs = np.empty((len(texts), len(self.labels)), dtype=np.float32)  # (N, C)
        if not texts:
            return probs
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
