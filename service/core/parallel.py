"""Use every core for model work: how many cores this process may use, and one batch scored as concurrent calls.

On a CPU, two independent model calls with one intra-op thread each do more work than one call with two intra-op
threads (the recurrent steps are small matrix products: splitting each over two threads costs more in
synchronisation than it saves; docs/benchmarks.md). TorchScript releases the GIL inside its ops, so several
Python threads each running the module at once really run in parallel.

`ParallelProba` cuts a batch, after sorting it by length, into the same length-sorted chunks
`service.core.predictor.forward_sorted` would make, and scores the chunks on a thread pool: each chunk sees exactly
the tensors a single call would give it, so the answer equals the single call's, in input order. A batch smaller
than one chunk per thread is split into slices of at least `MIN_SLICE` texts instead (the smaller the slice, the
larger the per-call overhead).

`torch.set_num_threads` is process-wide: whoever makes a `ParallelProba` with several threads should set the
intra-op threads to ``cores // threads`` (1 on most machines): `use_cores` does both. How many cores there are:
`service.core.cores.cpu_cores` (affinity capped by the cgroup quota).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from service.core.cores import cpu_cores, intra_op_threads
from service.core.features import Encoded
from service.core.predictor import Predictor

MIN_SLICE = 32  # fewest texts per concurrent call when a batch is cut into slices


def use_cores(calls: int | None = None) -> int:
    """Size this process for `calls` concurrent model calls (default: one per core): sets torch's intra-op threads
    to ``cores // calls`` (process-wide) and returns `calls`."""
    n = calls or cpu_cores()
    torch.set_num_threads(intra_op_threads(n))
    return n


def slice_groups(order: Sequence[int], chunk: int, threads: int, min_slice: int = MIN_SLICE) -> list[list[int]]:
    """`order` (positions sorted by length) cut into the groups scored by one call each: chunks of `chunk`, or,
    when there are fewer than one chunk per thread, up to `threads` equal slices of at least `min_slice`."""
    n = len(order)
    size = chunk
    if n < chunk * threads:
        k = max(1, min(threads, n // max(1, min_slice)))
        size = max(1, math.ceil(n / k))
    return [list(order[s : s + size]) for s in range(0, n, size)]


class ParallelProba:
    """`Predictor.predict_proba` with the batch scored by up to `threads` concurrent model calls."""

    def __init__(self, predictor: Predictor, threads: int, min_slice: int = MIN_SLICE) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, not {threads}")
        self.predictor = predictor
        self.threads = threads
        self.min_slice = min_slice
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="model") if threads > 1 else None

    def forward(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Calibrated probabilities (N, C) in input order, equal to ``predictor.forward(encoded)``."""
        p = self.predictor
        if self._pool is None or len(encoded) < 2 * self.min_slice:
            return p.forward(encoded)
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].length)  # the order forward_sorted uses
        groups = slice_groups(order, p.max_batch_size, self.threads, self.min_slice)
        parts = self._pool.map(lambda idx: p.forward([encoded[i] for i in idx]), groups)
        out = np.empty((len(encoded), len(p.labels)), dtype=np.float32)  # (N, C)
        for idx, probs in zip(groups, parts, strict=True):
            out[idx] = probs
        return out

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> probabilities (N, C); the texts are encoded first, in this thread (tokenizing holds the GIL)."""
        return self.forward(self.predictor.encode(texts))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
