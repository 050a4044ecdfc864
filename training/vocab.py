"""Numericalisation for training with torchtext: a vocabulary with min-frequency, specials and <unk> default.

Its index -> token list is exported with the model (vocab.json), and serving rebuilds the same mapping from
it without torchtext (service.core.features.Encoder), so ids are identical on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable

import torchtext

from service.core.features import PAD, UNK, UNK_ID
from service.core.tokenizer import SPECIAL_TOKENS

torchtext.disable_torchtext_deprecation_warning()
from torchtext.vocab import Vocab, build_vocab_from_iterator  # noqa: E402


def build_vocab(token_lists: Iterable[list[str]], min_freq: int) -> Vocab:
    vocab = build_vocab_from_iterator(
        token_lists, min_freq=min_freq, specials=[PAD, UNK, *SPECIAL_TOKENS], special_first=True
    )
    vocab.set_default_index(UNK_ID)
    return vocab
