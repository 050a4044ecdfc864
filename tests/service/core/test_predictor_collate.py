"""The one collate (service.core.features.collate) pads a batch exactly as the model expects it."""

from __future__ import annotations

import torch

from service.core.features import Encoder, FeatureConfig, collate

TEXTS = ["I love this phone :)", "", "a", "Worst. Service. Ever!!! @someone #fail http://x.y", "ok " * 80]


def test_collate_pads_words_subwords_and_lengths() -> None:
    enc = Encoder(["<pad>", "<unk>", "i", "love", "this", "ok"], FeatureConfig(max_len=64, subword_buckets=50))
    batch = [enc.encode(t) for t in TEXTS]
    word, sub, lengths = collate(batch)
    assert word.dtype == sub.dtype == lengths.dtype == torch.long
    T = max(e.length for e in batch)
    S = max(len(g) for e in batch for g in e.sub_ids)
    assert word.shape == (len(TEXTS), T) and sub.shape == (len(TEXTS), T, S)
    assert lengths.tolist() == [e.length for e in batch] and lengths.tolist()[-1] == 64  # cut at max_len
    for b, e in enumerate(batch):
        assert word[b, : e.length].tolist() == e.word_ids and not word[b, e.length :].any()  # 0 = padding
        for t, grams in enumerate(e.sub_ids):
            assert sub[b, t, : len(grams)].tolist() == list(grams) and not sub[b, t, len(grams) :].any()
        assert not sub[b, e.length :].any()
    assert word[0, :3].tolist() == [2, 3, 4]  # i love this


def test_a_text_without_tokens_still_gets_one_unknown_step() -> None:
    enc = Encoder(["<pad>", "<unk>"], FeatureConfig(subword_buckets=0))
    word, sub, lengths = collate([enc.encode("")])
    assert word.tolist() == [[1]] and lengths.tolist() == [1] and sub.shape == (1, 1, 1)
