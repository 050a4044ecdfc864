"""The predictor's numpy collate gives exactly the tensors of `Encoder.collate` (which training uses)."""

from __future__ import annotations

import torch

from service.core.features import Encoder, FeatureConfig
from service.core.predictor import collate

TEXTS = ["I love this phone :)", "", "a", "Worst. Service. Ever!!! @someone #fail http://x.y", "ok " * 80]


def test_collate_matches_encoder_collate() -> None:
    enc = Encoder(["<pad>", "<unk>", "i", "love", "this", "ok"], FeatureConfig(max_len=64, subword_buckets=50))
    batch = [enc.encode(t) for t in TEXTS]
    for got, want in zip(collate(batch), enc.collate(batch), strict=True):
        assert got.dtype == want.dtype == torch.long
        assert got.shape == want.shape
        assert torch.equal(got, want)


def test_collate_without_subwords() -> None:
    enc = Encoder(["<pad>", "<unk>", "hello"], FeatureConfig(subword_buckets=0))
    batch = [enc.encode(t) for t in ("hello world", "hello")]
    for got, want in zip(collate(batch), enc.collate(batch), strict=True):
        assert torch.equal(got, want)
