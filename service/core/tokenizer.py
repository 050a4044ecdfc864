"""The one tweet tokenizer, used by training and serving alike (no train/serve skew).

`tokenize(text)` turns a raw tweet into normalised tokens:

* URLs -> ``<url>``, @mentions -> ``<user>``, numbers/times/money -> ``<number>``;
* ``#hashtag`` -> ``<hashtag>`` followed by the lower-cased tag word;
* emoticons (``:)``, ``:-(``, ``<3``, ``xD`` ...) and each emoji are kept as tokens;
* elongations ("soooo") are squeezed to two letters and followed by ``<elong>``;
* words are lower-cased; an ALL-CAPS word (2+ letters) is followed by ``<allcaps>``;
* runs of ``!``/``?`` collapse to at most two characters; HTML entities are unescaped.

Changing any rule changes model inputs: bump ``TOKENIZER_VERSION`` (stored in every model manifest; the
service refuses a model whose tokenizer version differs from this module's).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

TOKENIZER_VERSION = "tweet-v1"

URL, USER, NUMBER, HASHTAG, ELONG, ALLCAPS = (
    "<url>",
    "<user>",
    "<number>",
    "<hashtag>",
    "<elong>",
    "<allcaps>",
)
SPECIAL_TOKENS = (URL, USER, NUMBER, HASHTAG, ELONG, ALLCAPS)

_EMOTICON = r"""
    (?:[<>]?[:;=8][\-o\*']?[\)\]\(\[dDpP/\\:\}\{@\|3]+)   # :) ;-( =D :P :/ :3
  | (?:[\)\]\(\[dDpP/\\:\}\{@\|]+[\-o\*']?[:;=8][<>]?)    # (: D:
  | (?:<3+|</3+)                                         # <3 </3
  | (?:\^[_\-.]?\^)                                      # ^_^
  | (?:[xX][dD]+\b)                                      # xD
  | (?:[oO]_[oO]|-_-|T_T|;_;)
"""
_EMOJI = (
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u3030\u303d\u3297\u3299]"
    "[\ufe0f\U0001f3fb-\U0001f3ff\u200d]*"
)
_TOKEN_RE = re.compile(
    rf"""
    (?P<url>(?:https?://|www\.)\S+)
  | (?P<user>@\w+)
  | (?P<emoticon>{_EMOTICON})
  | (?P<hashtag>\#\w+)
  | (?P<number>[$£€]?\d+(?:[.,:/]\d+)*(?:%|k|st|nd|rd|th|am|pm|s)?\b)
  | (?P<word>[^\W\d_](?:[\w'’\-]*\w)?)
  | (?P<emoji>{_EMOJI})
  | (?P<punct>[!?]+|\.{{2,}}|[^\w\s])
    """,
    re.VERBOSE | re.UNICODE,
)
_ELONG_RE = re.compile(r"(\w)\1{2,}")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_INVISIBLE_RE = re.compile("[\x00-\x1f\x7f\u200b\u200c\u2060\ufeff]")  # controls, zero-width chars


@lru_cache(maxsize=65536)
def _word(word: str) -> tuple[str, ...]:
    """Normalise one word: case, elongation, apostrophes."""
    out: list[str] = []
    caps = len(word) > 1 and word.isupper() and any(c.isalpha() for c in word)
    squeezed = _ELONG_RE.sub(r"\1\1", word)
    out.append(squeezed.lower().translate(_APOSTROPHES))
    if squeezed != word:
        out.append(ELONG)
    if caps:
        out.append(ALLCAPS)
    return tuple(out)


def tokenize(text: str) -> list[str]:
    """Split and normalise one tweet into tokens (may return [] for text with no tokens)."""
    text = _INVISIBLE_RE.sub(" ", html.unescape(text))
    tokens: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "url":
            tokens.append(URL)
        elif kind == "user":
            tokens.append(USER)
        elif kind == "number":
            tokens.append(NUMBER)
        elif kind == "hashtag":
            tokens.append(HASHTAG)
            tokens.extend(_word(tok[1:]))
        elif kind == "word":
            tokens.extend(_word(tok))
        elif kind == "emoticon":
            tokens.append(tok.lower() if tok[0] in "xX" else tok)
        elif kind == "punct" and tok[0] in "!?":
            tokens.append(tok[:2])
        elif kind == "punct" and tok.startswith(".."):
            tokens.append("...")
        else:  # emoji, other punctuation
            tokens.append(tok)
    return tokens
