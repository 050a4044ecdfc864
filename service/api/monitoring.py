"""Prediction monitoring: Prometheus metrics served by BentoML's ``/metrics`` next to its own.

The metrics are created lazily, in the worker process, after BentoML has set ``PROMETHEUS_MULTIPROC_DIR``
(a metric created before that would be invisible to the multi-process collector).

* ``sentiment_predictions_total{label}``: predictions per label;
* ``sentiment_prediction_confidence``: histogram of the winning probability;
* ``sentiment_tokens_total`` / ``sentiment_oov_tokens_total``: tokens seen and those not in the vocabulary
  (OOV rate = ``rate(sentiment_oov_tokens_total[5m]) / rate(sentiment_tokens_total[5m])``);
* ``sentiment_text_length_chars`` / ``sentiment_text_length_tokens``: input length histograms;
* ``sentiment_batch_size``: texts per model batch (after adaptive batching merged requests);
* ``sentiment_rejected_requests_total{status,reason}``: requests refused before the model (4xx);
* ``sentiment_requests_in_flight``: API requests being processed (summed over workers).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from service.api.prometheus_adapter import observe_many

CONFIDENCE_BUCKETS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
CHAR_BUCKETS = (10, 20, 40, 80, 140, 280, 500, 1000, 2000, 5000)
TOKEN_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class PredictionMetrics:
    def __init__(self, labels: Sequence[str]) -> None:
        import prometheus_client as pc  # deferred: see the module docstring

        self.predictions = pc.Counter("sentiment_predictions", "predictions per label", ["label"])
        self._per_label = [self.predictions.labels(label=lab) for lab in labels]
        self.confidence = pc.Histogram(
            "sentiment_prediction_confidence", "probability of the predicted label", buckets=CONFIDENCE_BUCKETS
        )
        self.tokens = pc.Counter("sentiment_tokens", "tokens fed to the model")
        self.oov_tokens = pc.Counter("sentiment_oov_tokens", "tokens not in the model vocabulary")
        self.text_chars = pc.Histogram("sentiment_text_length_chars", "text length (characters)", buckets=CHAR_BUCKETS)
        self.text_tokens = pc.Histogram(
            "sentiment_text_length_tokens", "text length (tokens, after truncation)", buckets=TOKEN_BUCKETS
        )
        self.batch_size = pc.Histogram("sentiment_batch_size", "texts per model batch", buckets=BATCH_BUCKETS)
        self.rejected = pc.Counter(
            "sentiment_rejected_requests", "requests refused before the model", ["status", "reason"]
        )
        self.in_flight = pc.Gauge(
            "sentiment_requests_in_flight", "API requests being processed", multiprocess_mode="livesum"
        )

    def observe_batch(self, texts: Sequence[str], encoded: Sequence[Any], probs: np.ndarray) -> None:
        """One model batch: texts, their `Encoded` forms and probabilities (N, C). A few dozen metric writes per
        batch, not a few per text: each write locks and updates a memory-mapped file."""
        self.batch_size.observe(len(texts))
        winners = probs.argmax(axis=1)  # (N,)
        for c, n in enumerate(np.bincount(winners, minlength=len(self._per_label)).tolist()):
            if n:
                self._per_label[c].inc(n)
        lengths = np.fromiter((e.length for e in encoded), dtype=np.int64, count=len(encoded))  # (N,)
        n_oov = sum(e.n_oov for e in encoded)
        observe_many(self.confidence, probs.max(axis=1))
        observe_many(self.text_chars, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        observe_many(self.text_tokens, lengths)
        self.tokens.inc(int(lengths.sum()))
        if n_oov:
            self.oov_tokens.inc(n_oov)


@cache
def get_metrics(labels: tuple[str, ...]) -> PredictionMetrics:
    return PredictionMetrics(labels)
