"""The pure-Python vocabulary (used where torchtext's C++ library does not load, e.g. under torch 2.11 on the GPU
machine) gives the same index -> token list as torchtext on real tokenised tweets."""

from __future__ import annotations

import torchtext

from service.core.reference import clean_tweets
from service.core.tokenizer import Tokenizer
from training.vocab import SPECIALS, counted_itos

torchtext.disable_torchtext_deprecation_warning()
from torchtext.vocab import build_vocab_from_iterator  # noqa: E402


def test_counted_itos_is_torchtexts_order() -> None:
    tok = Tokenizer()
    token_lists = [tok.tokenize(t.text) for t in clean_tweets(1500)]
    token_lists.append([SPECIALS[1], "zz-rare"])  # a special inside the data, a token seen once
    for min_freq in (1, 2, 3):
        want = build_vocab_from_iterator(token_lists, min_freq=min_freq, specials=SPECIALS, special_first=True)
        got = counted_itos(iter(token_lists), min_freq)
        assert got == want.get_itos()
        assert len(got) > 1000 if min_freq == 1 else len(got) > len(SPECIALS)
