"""Prior-polarity lexicons from PyPI packages (training time only), turned into a per-vocabulary-word table that
the exported model carries as a buffer (the serving path never imports these packages).

| name  | package (wheel file)                                   | entries | scale   | licence of the data |
|-------|--------------------------------------------------------|---------|---------|---------------------|
| vader | vaderSentiment (vader_lexicon.txt)                     | 7,502   | -4..4   | MIT                 |
| afinn | afinn (data/AFINN-en-165.txt + AFINN-emoticon-8.txt)   | 3,382+8 | -5..5   | ODbL 1.0            |
| emoji | emoji-sentiment (Emoji_Sentiment_Data_v1.0.csv)        | 751     | -1..1   | CC BY-SA 4.0 (*)    |

Each lexicon gives two features per token, its positive and its negative strength scaled to 0..1, so a
table has 2 x (number of lexicons) columns. Only single-token entries are used (AFINN's few phrases are
skipped); an entry is looked up for the token as the tokenizer writes it, then without emoji modifiers.
(*) the Emoji Sentiment Ranking (Kralj Novak et al., 2015), emoji seen at least 5 times; the wheel itself states
only the MIT licence of its code.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np

from training.packages import package_dir

LEXICONS = ("vader", "afinn", "emoji")
_EMOJI_MODIFIERS = dict.fromkeys([0xFE0F, 0x200D, *range(0x1F3FB, 0x1F400)])


def _package_dir(name: str) -> Path:
    return package_dir(name, "this lexicon")


def _read_vader() -> dict[str, float]:
    out = {}
    for line in (_package_dir("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and " " not in parts[0]:
            out[parts[0].lower() if parts[0].isalpha() else parts[0]] = float(parts[1]) / 4.0
    return out


def _read_afinn() -> dict[str, float]:
    out = {}
    data = _package_dir("afinn") / "data"
    for name in ("AFINN-en-165.txt", "AFINN-emoticon-8.txt"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            word, _, score = line.rpartition("\t")
            if word and " " not in word:
                out[word] = float(score) / 5.0
    return out


def _read_emoji(min_occurrences: int = 5) -> dict[str, float]:
    """Emoji Sentiment Ranking: (positive - negative) / occurrences, for emoji seen at least `min_occurrences`."""
    out = {}
    path = _package_dir("emoji_sentiment") / "Emoji_Sentiment_Data_v1.0.csv"
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            neg, neu, pos = int(row["Negative"]), int(row["Neutral"]), int(row["Positive"])
            if neg + neu + pos >= min_occurrences:
                out[row["Emoji"].translate(_EMOJI_MODIFIERS)] = (pos - neg) / (neg + neu + pos)
    return out


_READERS = {"vader": _read_vader, "afinn": _read_afinn, "emoji": _read_emoji}


@cache
def load_lexicon(name: str) -> dict[str, float]:
    """token -> polarity in -1..1."""
    if name not in _READERS:
        raise ValueError(f"unknown lexicon {name!r}; one of {', '.join(LEXICONS)}")
    return _READERS[name]()


def lookup(lexicon: dict[str, float], token: str) -> float:
    hit = lexicon.get(token)
    if hit is None:
        hit = lexicon.get(token.translate(_EMOJI_MODIFIERS), 0.0)
    return hit


def lexicon_words(names: list[str]) -> list[str]:
    """Every entry of the named lexicons, sorted (for the vocabulary extension)."""
    return sorted({w for n in names for w in load_lexicon(n)})


def lexicon_table(itos: list[str], names: list[str]) -> np.ndarray:
    """(V, 2 * len(names)) float32: per vocabulary word, each lexicon's positive and negative strength (0..1)."""
    table = np.zeros((len(itos), 2 * len(names)), dtype=np.float32)
    for k, name in enumerate(names):
        lex = load_lexicon(name)
        for i, tok in enumerate(itos):
            v = lookup(lex, tok)
            if v > 0:
                table[i, 2 * k] = v
            elif v < 0:
                table[i, 2 * k + 1] = -v
    return np.clip(table, 0.0, 1.0)
