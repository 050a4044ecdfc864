"""Text -> model input tensors. Shared by training (via import) and serving, so both encode identically.

A text becomes
* word ids: one per token, looked up in the model's vocabulary (0 = padding, 1 = unknown);
* sub-word ids: for each token up to ``max_ngrams`` hashed character n-grams of ``<token>`` (fastText style),
  in ``1..buckets`` (0 = padding). They give unknown and misspelt words a representation. With ``negation`` on,
  a token inside a negation scope (service.core.tokenizer.negation_scope) also carries the reserved id
  ``buckets + 1`` (`negation_id`): the model reads the scope from its sub-word ids, so its inputs stay three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from service.core.tokenizer import SPECIAL_TOKENS, Tokenizer, negation_scope

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def fnv1a(s: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes: a stable hash (Python's hash() is salted per process)."""
    h = _FNV_OFFSET
    for b in s.encode("utf-8", "surrogatepass"):
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


@lru_cache(maxsize=200_000)
def char_ngram_ids(token: str, buckets: int, n_min: int, n_max: int, max_ngrams: int) -> tuple[int, ...]:
    """Hashed character n-gram ids of one token, each in 1..buckets."""
    if buckets <= 0 or token in SPECIAL_TOKENS:
        return ()
    w = f"<{token}>"
    grams = [w[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(w) - n + 1)]
    return tuple(fnv1a(g) % buckets + 1 for g in grams[:max_ngrams])


@dataclass(frozen=True)
class FeatureConfig:
    max_len: int = 64  # tokens kept per text (the rest is cut)
    subword_buckets: int = 20_000  # 0 disables sub-word features
    ngram_min: int = 3
    ngram_max: int = 5
    max_ngrams: int = 16  # per token
    negation: int = 0  # 1: tokens in a negation scope also carry the sub-word id negation_id(buckets)


def negation_id(buckets: int) -> int:
    """The reserved sub-word id marking a token in a negation scope (one past the hashed n-gram ids)."""
    return max(buckets, 0) + 1


@dataclass
class Encoded:
    word_ids: list[int]
    sub_ids: list[tuple[int, ...]]
    n_oov: int  # tokens not in the vocabulary (for monitoring)

    @property
    def length(self) -> int:
        return len(self.word_ids)


class Encoder:
    """Tokenise, cut to `max_len` tokens and numericalise one text into unpadded ids (`Encoded`); `collate` pads a
    batch of them. `itos` is the vocabulary (index -> token) stored with the model; `tokenizer` the one the model was
    trained with (default: every option off, as tweet-v1)."""

    def __init__(self, itos: Sequence[str], cfg: FeatureConfig, tokenizer: Tokenizer | None = None) -> None:
        if len(itos) < 2 or itos[PAD_ID] != PAD or itos[UNK_ID] != UNK:
            raise ValueError(f"vocabulary must start with {PAD!r}, {UNK!r}")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.cfg = cfg
        self.tokenizer = tokenizer or Tokenizer()
        self._neg = (negation_id(cfg.subword_buckets),)

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text)

    def encode_tokens(self, tokens: Sequence[str]) -> Encoded:
        cfg = self.cfg
        tokens = list(tokens[: cfg.max_len]) or [UNK]  # a text without tokens still gets one step
        ids = [self.stoi.get(t, UNK_ID) for t in tokens]
        subs = [char_ngram_ids(t, cfg.subword_buckets, cfg.ngram_min, cfg.ngram_max, cfg.max_ngrams) for t in tokens]
        if cfg.negation:
            subs = [g + self._neg if neg else g for g, neg in zip(subs, negation_scope(tokens), strict=True)]
        return Encoded(ids, subs, sum(1 for i in ids if i == UNK_ID))

    def encode(self, text: str) -> Encoded:
        return self.encode_tokens(self.tokenizer.tokenize(text))


def collate(batch: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The one padding of a batch, for training and serving: word_ids (B, T), sub_ids (B, T, S), lengths (B,), int64
    on the CPU (0 = padding). Filled through numpy slices rather than one small tensor per token (~7x faster, which
    matters once per adaptive batch)."""
    B = len(batch)
    T = max(e.length for e in batch)
    S = max(1, max((len(s) for e in batch for s in e.sub_ids), default=1))
    word = np.zeros((B, T), dtype=np.int64)  # (B, T)
    sub = np.zeros((B, T, S), dtype=np.int64)  # (B, T, S)
    lengths = np.fromiter((e.length for e in batch), dtype=np.int64, count=B)  # (B,)
    for b, e in enumerate(batch):
        word[b, : e.length] = e.word_ids
        rows = sub[b]
        for t, grams in enumerate(e.sub_ids):
            if grams:
                rows[t, : len(grams)] = grams
    return torch.from_numpy(word), torch.from_numpy(sub), torch.from_numpy(lengths)
