"""A split as training sees it: encoded once by the serving Encoder, batched by length, padded by the serving
collate."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from service.core.features import Encoded, Encoder, collate
from training.data import Example


@dataclass
class Tensors:
    """A split encoded once by the serving encoder (service.core.features.Encoder), padded per batch."""

    encoded: list[Encoded]
    labels: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.encoded)


def numericalise(examples: list[Example], encoder: Encoder) -> Tensors:
    """Encode with the serving Encoder itself (tokenizer, vocabulary, char n-grams, negation marker)."""
    return Tensors([encoder.encode(ex.text) for ex in examples], torch.tensor([ex.label for ex in examples]))


def pad_batch(t: Tensors, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """word (B,T), sub (B,T,S), lengths (B,): the serving collate."""
    return collate([t.encoded[i] for i in idx])


def bucketed_batches(t: Tensors, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length inside chunks of 50 batches (less padding), then shuffle the batches."""
    idx = list(range(len(t)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: t.encoded[i].length)
        batches += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches
