"""The one prometheus_client internal the service uses (measured reason below); tested by
tests/service/api/test_prometheus_adapter.py, which fails when the installed library changes it.

`observe_many` records a batch of values into a Histogram with one write per non-empty bucket instead of one
``observe()`` per value: in BentoML's multi-process mode every write locks and updates a memory-mapped file, and a
256-text batch observes three histograms per text. It relies on ``Histogram._buckets`` (one Counter-like value per
bucket, in the order of ``_upper_bounds``) and ``Histogram._sum``; when they are missing it falls back to the loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def has_bucket_internals(hist: Any) -> bool:
    buckets, total, bounds = (
        getattr(hist, "_buckets", None),
        getattr(hist, "_sum", None),
        getattr(hist, "_upper_bounds", None),
    )
    return buckets is not None and total is not None and bounds is not None and len(buckets) == len(bounds)


def observe_many(hist: Any, values: np.ndarray) -> None:
    """``hist.observe(v) for v in values``, with one write per non-empty bucket."""
    if not has_bucket_internals(hist):
        for v in values.tolist():
            hist.observe(v)
        return
    bounds = np.asarray(hist._upper_bounds, dtype=np.float64)
    idx = np.searchsorted(bounds, values, side="left")  # (N,): the first bound >= each value
    for i, n in enumerate(np.bincount(idx, minlength=len(bounds)).tolist()):
        if n:
            hist._buckets[i].inc(n)
    hist._sum.inc(float(values.sum()))
