"""Everything built once from the training split and shared by every ensemble member: the tokenizer, the
vocabulary (trained rows, then frozen lexicon/GloVe rows), the encoded splits, the frozen tables, coverage."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import torch
from tqdm import tqdm

from service.core.features import Encoder
from service.core.tokenizer import SPECIAL_TOKENS, Tokenizer, TokenizerOptions
from training.batches import Tensors, numericalise
from training.config import TrainConfig, feature_config
from training.data import Splits
from training.vocab import build_vocab


def make_tokenizer(cfg: TrainConfig) -> Tokenizer:
    """The tokenizer a config asks for; the word table (wordsegment's counts) only when an option reads it."""
    options = TokenizerOptions(
        hashtags=cfg.hashtags, elongations=cfg.elongations, emoticons=cfg.emoticons, emoji=cfg.emoji
    )
    words = emoji = None
    if options.needs_words():
        from training.wordcounts import word_counts

        words = word_counts(cfg.word_table)
    if options.emoji:
        from training.emoji_map import emoji_table

        emoji = emoji_table()
    return Tokenizer(options, words, emoji)


@dataclass
class Prepared:
    """A split's vocabulary, tables and numericalised tensors, built once and shared by every ensemble member."""

    itos: list[str]  # trained rows first, then the frozen extension rows (lexicon and GloVe words)
    n_trained: int  # rows of the trainable embedding table
    tokenizer: Tokenizer
    train: Tensors
    val: Tensors
    test: Tensors
    vectors: torch.Tensor | None  # (V, 50) GloVe rows, or None
    lexicon: torch.Tensor | None  # (V, L) prior polarities, or None
    coverage: dict[str, float]  # OOV rates and table hits (reported in the manifest)


def extension_words(cfg: TrainConfig) -> list[str]:
    """Words given frozen vocabulary rows beyond the training vocabulary: every lexicon entry, then GloVe's most
    frequent words (cfg.extend_vocab of them)."""
    words: list[str] = []
    if cfg.lexicon_names():
        from training.lexicons import lexicon_words

        words += lexicon_words(cfg.lexicon_names())
    if cfg.extend_vocab > 0:
        from training.vectors import frequent_words

        words += frequent_words(cfg.extend_vocab)
    return words


def prepare(splits: Splits, cfg: TrainConfig) -> Prepared:
    tokenizer = make_tokenizer(cfg)
    train_tokens = [tokenizer.tokenize(ex.text)[: cfg.max_len] for ex in splits.train]
    itos = build_vocab(train_tokens, cfg.min_freq).get_itos()
    n_trained = len(itos)
    known = set(itos)
    for w in extension_words(cfg):
        if w not in known:
            known.add(w)
            itos.append(w)
    encoder = Encoder(itos, feature_config(cfg), tokenizer)
    train_t, val_t, test_t = (
        numericalise(s, encoder) for s in (splits.train + splits.augmented, splits.val, splits.test)
    )
    test_tokens = [tokenizer.tokenize(ex.text)[: cfg.max_len] for ex in splits.test]
    skip = frozenset(SPECIAL_TOKENS)
    from training.vectors import oov_rate

    coverage = {
        "vocab_trained": n_trained,
        "vocab_total": len(itos),
        "test_oov_trained_vocab": oov_rate(test_tokens, dict.fromkeys(itos[:n_trained]), skip),
        "test_oov": oov_rate(test_tokens, encoder.stoi, skip),
    }
    vectors = lexicon = None
    if cfg.vectors != "none":
        from training.vectors import vector_table

        table, hits = vector_table(itos)
        vectors = torch.from_numpy(table)
        coverage["vector_rows"] = hits
        with_vec = {t for t, row in zip(itos, table, strict=True) if row.any()}
        coverage["test_tokens_without_vector"] = oov_rate(test_tokens, dict.fromkeys(with_vec), skip)
    if cfg.lexicon_names():
        from training.lexicons import lexicon_table

        lex = lexicon_table(itos, cfg.lexicon_names())
        lexicon = torch.from_numpy(lex)
        coverage["lexicon_rows"] = int((lex > 0).any(axis=1).sum())
    tqdm.write(f"vocabulary: {json.dumps({k: round(v, 4) for k, v in coverage.items()})}", file=sys.stderr)
    return Prepared(itos, n_trained, tokenizer, train_t, val_t, test_t, vectors, lexicon, coverage)
