"""The one tweet tokenizer, used by training and serving alike (no train/serve skew).

`tokenize(text)` turns a raw tweet into normalised tokens:

* URLs -> ``<url>``, @mentions -> ``<user>``, numbers/times/money -> ``<number>``;
* ``#hashtag`` -> ``<hashtag>`` followed by the lower-cased tag word;
* emoticons (``:)``, ``:-(``, ``<3``, ``xD`` ...) and each emoji are kept as tokens;
* elongations ("soooo") are squeezed to two letters and followed by ``<elong>``;
* words are lower-cased; an ALL-CAPS word (2+ letters) is followed by ``<allcaps>``;
* runs of ``!``/``?`` collapse to at most two characters; HTML entities are unescaped.

``tweet-v2`` adds options, each off by default (with every option off it tokenizes exactly as ``tweet-v1``, so
v1 artifacts are still served); a model records the options it was trained with and the word table they read
(``words.json`` in the artifact), and serving builds the same `Tokenizer` from them:

* ``hashtags``: ``#LoveMyJob`` / ``#lovemyjob`` -> ``<hashtag> love my job`` (camel case, then a unigram
  segmentation over the word table);
* ``elongations``: "goooood" -> "good" rather than "good"/"god" by the 2-letter rule: of the squeezed
  spellings (runs cut to 2 or to 1 letter) the most frequent known word wins;
* ``emoticons``: emoticon variants to a canonical few (``:-)))`` -> ``:)``, ``=(`` -> ``:(``), the forms the
  lexicons list.

``tweet-v3`` adds the ``emoji`` option: each emoji is looked up (without variation selectors, skin tones and
joiners) in the model's emoji table (``emoji.json`` in the artifact, built by training/emoji_map.py) and replaced
by its tokens: a canonical emoticon for emoji that mean one (``😍`` -> ``<3``, ``😡`` -> ``:(``), else the words
of its name (``🍕`` -> ``pizza``); an emoji the table lacks stays as it is. With the option off a v3 tokenizer
tokenizes exactly as v2.

`negation_scope(tokens)` marks the tokens after a negator up to the next clause boundary; the encoder turns
that into a model input (service/core/features.py), the tokens themselves do not change.

Changing any rule changes model inputs: bump ``TOKENIZER_VERSION`` (stored in every model manifest; the
service refuses a model whose tokenizer version it does not know).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache

TOKENIZER_VERSION = "tweet-v3"
KNOWN_VERSIONS = ("tweet-v1", "tweet-v2", "tweet-v3")  # v1 = v3 with every option off, v2 = v3 without emoji

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
_EMOJI_MODIFIERS = dict.fromkeys([0xFE0F, 0xFE0E, 0x200D, *range(0x1F3FB, 0x1F400)])
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


@dataclass(frozen=True)
class TokenizerOptions:
    hashtags: bool = False  # segment hashtags into words (camel case, then the word table)
    elongations: bool = False  # resolve elongated words against the word table ("goooood" -> "good")
    emoticons: bool = False  # canonical emoticons (":-)))" -> ":)")
    emoji: bool = False  # emoji -> the tokens of the model's emoji table (tweet-v3)

    def needs_words(self) -> bool:
        return self.hashtags or self.elongations

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)


_CAMEL_RE = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")
_RUN_RE = re.compile(r"(\w)\1+")
_EMOTICON_CANON = {
    # (eyes, mouth) classes -> canonical form; noses, tears and repeats dropped
    "happy": ":)",
    "sad": ":(",
    "laugh": ":D",
    "tongue": ":P",
    "wink": ";)",
    "skeptic": ":/",
    "heart": "<3",
    "broken": "</3",
}


def _emoticon_class(tok: str) -> str | None:
    if tok.startswith("</3"):
        return "broken"
    if tok.startswith("<3"):
        return "heart"
    core = tok.strip("<>")
    if len(core) < 2:
        return None
    if core[0] in ":;=8":  # eyes first: :-) ;( =D
        wink = core[0] == ";"
        mouth = core.lstrip(":;=8").lstrip("-o*'")[:1]
        kinds = {")": "happy", "]": "happy", "}": "happy", "(": "sad", "[": "sad", "{": "sad", "D": "laugh"}
        kinds.update({"p": "tongue", "P": "tongue", "/": "skeptic", "\\": "skeptic"})
        kind = kinds.get(mouth)
        return "wink" if wink and kind == "happy" else kind
    if core[-1] in ":;=8":  # mouth first: (: ):
        mouth = core[0]
        return {")": "sad", "(": "happy", "D": "sad"}.get(mouth)
    return None


def strip_emoji_modifiers(text: str) -> str:
    """Without variation selectors, skin tones and joiners: the form the emoji table's keys take."""
    return text.translate(_EMOJI_MODIFIERS)


def find_emoticons(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical form) of each emoticon of a known class in `text`, as the tokenizer reads them."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup == "emoticon":
            canon = _EMOTICON_CANON.get(_emoticon_class(m.group()) or "")
            if canon:
                out.append((m.start(), m.end(), canon))
    return out


class Tokenizer:
    """`tokenize` with options; `words` (word -> corpus count) is needed by the hashtag and elongation options,
    `emoji` (emoji -> space-separated tokens) by the emoji option."""

    def __init__(
        self,
        options: TokenizerOptions | None = None,
        words: Mapping[str, float] | None = None,
        emoji: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options or TokenizerOptions()
        if self.options.needs_words() and not words:
            raise ValueError("the hashtag and elongation options need a word table")
        if self.options.emoji and not emoji:
            raise ValueError("the emoji option needs an emoji table")
        self.emoji = {k: tuple(v.split()) for k, v in (emoji or {}).items()}
        self.words = dict(words or {})
        total = float(sum(self.words.values())) or 1.0
        self._logp = {w: math.log(c / total) for w, c in self.words.items()}
        self._unknown = math.log(1.0 / total)  # per character of an unknown stretch (wordsegment's penalty)
        self._max_word = max((len(w) for w in self.words), default=1)
        self._segment_cache: dict[str, tuple[str, ...]] = {}
        self._elong_cache: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        """Split and normalise one tweet into tokens (may return [] for text with no tokens)."""
        opts = self.options
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
                if opts.hashtags:
                    for part in self.segment(tok[1:]):
                        tokens.extend(self._word(part))
                else:
                    tokens.extend(self._word(tok[1:]))
            elif kind == "word":
                tokens.extend(self._word(tok))
            elif kind == "emoticon":
                canon = _EMOTICON_CANON.get(_emoticon_class(tok) or "") if opts.emoticons else None
                tokens.append(canon or (tok.lower() if tok[0] in "xX" else tok))
            elif kind == "punct" and tok[0] in "!?":
                tokens.append(tok[:2])
            elif kind == "punct" and tok.startswith(".."):
                tokens.append("...")
            elif kind == "emoji" and opts.emoji:
                tokens.extend(self.emoji.get(strip_emoji_modifiers(tok)) or (tok,))
            else:  # emoji, other punctuation
                tokens.append(tok)
        return tokens

    def _word(self, word: str) -> tuple[str, ...]:
        out = _word(word)
        if self.options.elongations and len(out) > 1 and out[1] == ELONG:
            return (self._resolve_elongation(word.lower().translate(_APOSTROPHES)), *out[1:])
        return out

    def _resolve_elongation(self, word: str) -> str:
        """The most frequent known spelling among runs of 3+ cut to two letters or to one; else two letters."""
        hit = self._elong_cache.get(word)
        if hit is None:
            two = _ELONG_RE.sub(r"\1\1", word)
            one = _ELONG_RE.sub(r"\1", word)
            all_one = _RUN_RE.sub(r"\1", word)  # also the doubled letters: "cooolll" -> "col"
            known = [w for w in (two, one, all_one) if w in self.words]
            hit = max(known, key=lambda w: self.words[w]) if known else two
            if len(self._elong_cache) < 100_000:
                self._elong_cache[word] = hit
        return hit

    def segment(self, tag: str) -> tuple[str, ...]:
        """Words of a hashtag body: camel-case parts, each lower-case run split by the most probable unigram
        sequence (log counts of the word table; unknown stretches pay a per-character penalty)."""
        hit = self._segment_cache.get(tag)
        if hit is None:
            parts: list[str] = []
            for piece in _CAMEL_RE.findall(tag) or [tag]:
                # only an all-lower-case stretch is split by counts: camel-case parts are words, capitals acronyms
                split = piece.isalpha() and piece.islower() and len(piece) >= 6 and piece not in self.words
                parts.extend(self._viterbi(piece) if split else [piece.lower()])
            hit = tuple(parts) or (tag,)
            if len(self._segment_cache) < 100_000:
                self._segment_cache[tag] = hit
        return hit

    def _viterbi(self, s: str) -> list[str]:
        n = len(s)
        best = [0.0] + [-math.inf] * n
        back = [0] * (n + 1)
        for end in range(1, n + 1):
            for start in range(max(0, end - self._max_word), end):
                w = s[start:end]
                score = best[start] + self._logp.get(w, self._unknown * len(w) - 10.0)
                if score > best[end]:
                    best[end], back[end] = score, start
        words: list[str] = []
        end = n
        while end > 0:
            words.append(s[back[end] : end])
            end = back[end]
        return words[::-1]


NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "none",
        "nowhere",
        "neither",
        "nor",
        "without",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
    }
)
_SCOPE_END = frozenset({".", ",", "!", "?", "!!", "??", "!?", "?!", ":", ";", "...", "but", URL, HASHTAG})


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def negation_scope(tokens: list[str]) -> list[bool]:
    """True for the tokens after a negator ("not", "never", "don't", ...) up to the next punctuation mark, "but",
    URL or hashtag (Pang et al., 2002); the negator itself is not in its scope."""
    out, inside = [], False
    for tok in tokens:
        if tok in _SCOPE_END:
            inside = False
            out.append(False)
        elif is_negator(tok):
            out.append(False)
            inside = True
        else:
            out.append(inside)
    return out


_DEFAULT = Tokenizer()


def tokenize(text: str) -> list[str]:
    """Split and normalise one tweet with every option off (tweet-v1 tokens)."""
    return _DEFAULT.tokenize(text)
