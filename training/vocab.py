"""Numericalisation for training: a vocabulary with min-frequency, specials and <unk> default.

Built with torchtext where its C++ library loads (torchtext 0.18 is built for torch 2.3 only); under another torch
(the GPU machine's torch 2.11, issue 18) `counted_itos` gives the identical index -> token list in pure Python
(torchtext's order: specials, then tokens by descending count, ties by token; tests/training/test_vocab.py).
The list is exported with the model (vocab.json), and serving rebuilds the same mapping from it without torchtext
(service.core.features.Encoder), so ids are identical on both sides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from service.core.features import PAD, UNK, UNK_ID
from service.core.tokenizer import SPECIAL_TOKENS

SPECIALS = [PAD, UNK, *SPECIAL_TOKENS]

try:
    import torchtext

    torchtext.disable_torchtext_deprecation_warning()
    from torchtext.vocab import build_vocab_from_iterator
except (ImportError, OSError) as e:  # OSError: "Could not load this library: .../libtorchtext.so" (torch mismatch)
    build_vocab_from_iterator = None
    TORCHTEXT_ERROR: str | None = f"{type(e).__name__}: {e}"
else:
    TORCHTEXT_ERROR = None


class Itos:
    """The vocabulary as training reads it (``get_itos()``), when torchtext is not usable."""

    def __init__(self, itos: list[str]) -> None:
        self.itos = itos

    def get_itos(self) -> list[str]:
        return list(self.itos)


def counted_itos(token_lists: Iterable[list[str]], min_freq: int) -> list[str]:
    """torchtext's ``build_vocab_from_iterator(..., specials=SPECIALS, special_first=True).get_itos()``."""
    counter: Counter[str] = Counter()
    for tokens in token_lists:
        counter.update(tokens)
    ordered = sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    specials = set(SPECIALS)
    return [*SPECIALS, *(tok for tok, freq in ordered if freq >= min_freq and tok not in specials)]


def build_vocab(token_lists: Iterable[list[str]], min_freq: int):  # torchtext.vocab.Vocab | Itos
    if build_vocab_from_iterator is None:
        return Itos(counted_itos(token_lists, min_freq))
    vocab = build_vocab_from_iterator(token_lists, min_freq=min_freq, specials=SPECIALS, special_first=True)
    vocab.set_default_index(UNK_ID)
    return vocab
