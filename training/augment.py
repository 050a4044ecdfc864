"""Counterfactual negation examples made from the training tweets (training time only; Kaushik et al., ICLR 2020,
"Learning the Difference that Makes a Difference with Counterfactually-Augmented Data", done by rule).

In the labelled data a negator is mostly a sign of a negative tweet, so a model learns "not" -> negative and then
calls "not bad at all" and "the flight is not on Monday" negative. Each rule below inserts one negator into a
real training tweet where the effect on the label is clear, and gives the copy that label:

* a positive tweet whose only opinion word is a positive word after a copula or a first-person verb
  ("the show was great", "I love it") -> negated ("the show was not great", "I don't love it"): negative;
* a negative tweet of that shape (at most two negative words, none positive; "the food is awful", "I hate it")
  -> negated: neutral (a negated negative opinion is at most mild; CheckList's expectation is "not negative");
* a neutral tweet with no polarised word and a copula ("the match is on Sunday") -> negated: neutral.

A fourth rule was measured and dropped: the first rule's positive tweets once more with their adjective replaced
by a negated negative one ("the show was great" -> "the show was not awful", positive). It cut the failures on
"not bad at all" (100% -> 30%), but the data has so few negative adjectives (16 tweets with "awful", 188 with
"bad") that the copies taught "awful" as positive: "The movie is awful." fell to P(negative) 0.58, and its
temporal validation AvgRec was the lowest of the candidates (README, "Model quality").

Only tweets without a negator of their own qualify; at most ``rate`` x the training part is added (seeded), split
evenly over the three rules. The evaluation parts are never augmented.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from service.core.labels import LABELS
from service.core.tokenizer import is_negator, tokenize
from training.data import Example

NEG, NEU, POS = LABELS.index("negative"), LABELS.index("neutral"), LABELS.index("positive")
_COPULA = re.compile(
    r"\b(is|was|are|were|am|be|been|looks|seems|feels)\s+((?:so|very|really|too|pretty)\s+)?(\w+)", re.I
)
_VERB = re.compile(
    r"\b(I|we|you|they)\s+(love|like|enjoy|adore|hate|dislike|despise|loved|liked|hated|enjoyed)\b", re.I
)
STRONG = 0.25  # |VADER score| / 4 from which a word counts as an opinion word (VADER 1.0 of 4)
_DO = {"loved": "didn't love", "liked": "didn't like", "hated": "didn't hate", "enjoyed": "didn't enjoy"}


def _polarity(lexicon: dict[str, float], word: str) -> float:
    return lexicon.get(word.lower(), 0.0)


def _negate(text: str, lexicon: dict[str, float]) -> tuple[str, float] | None:
    """The text with one negator inserted before its opinion word, and that word's polarity; None if no rule fits."""
    m = _VERB.search(text)
    if m:
        verb = m.group(2)
        neg = _DO.get(verb.lower(), f"don't {verb}")
        base = verb.lower()
        return text[: m.start(2)] + neg + text[m.end(2) :], _polarity(lexicon, base) or _polarity(lexicon, base[:-1])
    m = _COPULA.search(text)
    if m:
        return text[: m.end(1)] + " not" + text[m.end(1) :], _polarity(lexicon, m.group(3))
    return None


def negation_counterfactuals(train: list[Example], rate: float, seed: int) -> list[Example]:
    """At most `rate` x len(train) negated copies of training tweets (ids suffixed ``#neg``), by the rules above."""
    if rate <= 0:
        return []
    from training.lexicons import load_lexicon

    lexicon = load_lexicon("vader")
    pools: dict[int, list[Example]] = {POS: [], NEG: [], NEU: []}
    for ex in train:
        tokens = tokenize(ex.text)
        if any(is_negator(t) for t in tokens):
            continue
        hit = _negate(ex.text, lexicon)
        if hit is None:
            continue
        text, polarity = hit
        scores = [_polarity(lexicon, t) for t in tokens]
        pos_words = sum(1 for v in scores if v >= STRONG)
        neg_words = sum(1 for v in scores if v <= -STRONG)
        if ex.label == POS and polarity >= STRONG and neg_words == 0 and pos_words == 1:
            pools[POS].append(replace(ex, id=f"{ex.id}#neg", text=text, label=NEG))
        elif ex.label == NEG and polarity <= -STRONG and pos_words == 0 and neg_words <= 2:
            pools[NEG].append(replace(ex, id=f"{ex.id}#neg", text=text, label=NEU))
        elif ex.label == NEU and pos_words == neg_words == 0:
            pools[NEU].append(replace(ex, id=f"{ex.id}#neg", text=text, label=NEU))
    rng = random.Random(seed)
    per_rule = int(rate * len(train) / 3)
    out: list[Example] = []
    for label in (POS, NEG, NEU):
        pool = pools[label]
        out += pool if len(pool) <= per_rule else rng.sample(pool, per_rule)
    return out
