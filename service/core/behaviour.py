"""A behavioural test suite in the manner of CheckList (Ribeiro et al., ACL 2020), written for this project.

Each test targets one capability and is one of three kinds:

* **MFT** (minimum functionality): every generated text has an expected answer (a label, or "not this label");
* **INV** (invariance): a perturbation that should not matter (a typo, a name, a contraction, an emoticon written
  as its emoji) must leave the label unchanged;
* **DIR** (directional): a perturbation with a known direction (an intensifier, a hedge, an added emoji) must move
  the probability of one class that way, or at least not the other way by more than ``TOLERANCE``.

The templates and fill-in lists are our own and deterministic (a seeded RNG picks the combinations, at most
``max_cases`` per test), so a run is reproducible and bounded. The suite scores through any ``proba(texts) ->
(N, C)`` callable with the label order of the model (``Predictor.predict_proba`` in `sentiment evaluate
--behaviour`, the path serving uses). Its result is a failure rate per test; it guides choices and documents
behaviour, it does not replace the temporal protocol's metrics.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from service.core.behaviour_cases import (
    CITIES,
    CONTRACTIONS,
    EMOTICON_EMOJI,
    HEDGES,
    INTENSIFIERS,
    NAMES,
    NEG_ADJ,
    NEG_EMOJI,
    NEG_VERBS,
    NEUTRAL_FACTS,
    NEUTRAL_NOT,
    NOUNS,
    POS_ADJ,
    POS_EMOJI,
    POS_VERBS,
)
from service.core.tokenizer import find_emoticons

TOLERANCE = 0.05  # DIR tests: a move against the expected direction larger than this is a failure
Proba = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Case:
    texts: tuple[str, ...]  # MFT: one text; INV/DIR: the original then the perturbed text
    expect: str = ""  # MFT: "positive" | "negative" | "neutral" | "not positive" | "not negative"


@dataclass
class Test:
    name: str
    capability: str
    kind: str  # MFT | INV | DIR
    description: str
    cases: list[Case]
    direction: tuple[str, int] = ("", 0)  # DIR: (class, +1 = must not fall, -1 = must not rise)


@dataclass
class TestResult:
    name: str
    capability: str
    kind: str
    description: str
    n: int
    failures: int
    examples: list[str] = field(default_factory=list)  # a few failing cases, for the report

    @property
    def failure_rate(self) -> float:
        return self.failures / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failure_rate": round(self.failure_rate, 4)}


def _pick(rng: random.Random, combos: list[tuple[str, ...]], k: int) -> list[tuple[str, ...]]:
    return combos if len(combos) <= k else rng.sample(combos, k)


def _sentences(rng: random.Random, adjectives: Sequence[str], verbs: Sequence[str], k: int) -> list[str]:
    """Short opinion sentences built from an adjective or a verb of one polarity."""
    combos = [(f"The {n} is {a}.",) for n in NOUNS for a in adjectives]
    combos += [(f"I {v} this {n}",) for n in NOUNS for v in verbs]
    combos += [(f"honestly the {n} was {a} today",) for n in NOUNS for a in adjectives]
    return [c[0] for c in _pick(rng, combos, k)]


def _typo(rng: random.Random, text: str) -> str:
    """Swap two adjacent letters inside one word of four or more letters (the same word each time for a text)."""
    words = text.split(" ")
    options = [i for i, w in enumerate(words) if sum(ch.isalpha() for ch in w) >= 4]
    if not options:
        return text
    i = rng.choice(options)
    w = words[i]
    j = rng.randrange(1, len([c for c in w if c.isalpha()]) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def build_suite(max_cases: int = 60, seed: int = 2020) -> list[Test]:
    """Every test, with at most `max_cases` cases each (seeded, so the same texts every run)."""
    rng = random.Random(seed)
    k = max_cases
    pos = _sentences(rng, POS_ADJ, POS_VERBS, k)
    neg = _sentences(rng, NEG_ADJ, NEG_VERBS, k)
    neutral = [c[0] for c in _pick(rng, [(f.format(n=n),) for n in NOUNS for f in NEUTRAL_FACTS], k)]
    tests: list[Test] = []

    def mft(name: str, cap: str, desc: str, texts: Sequence[str], expect: str) -> None:
        tests.append(Test(name, cap, "MFT", desc, [Case((t,), expect) for t in texts]))

    def inv(name: str, cap: str, desc: str, pairs: Sequence[tuple[str, str]]) -> None:
        tests.append(Test(name, cap, "INV", desc, [Case(p) for p in pairs if p[0] != p[1]]))

    def dir_(name: str, cap: str, desc: str, pairs: Sequence[tuple[str, str]], direction: tuple[str, int]) -> None:
        tests.append(Test(name, cap, "DIR", desc, [Case(p) for p in pairs], direction))

    # vocabulary
    mft("vocab_positive", "vocabulary", "a positive adjective or verb -> positive", pos, "positive")
    mft("vocab_negative", "vocabulary", "a negative adjective or verb -> negative", neg, "negative")
    mft("vocab_neutral", "vocabulary", "a plain statement of fact -> neutral", neutral, "neutral")

    # negation
    neg_pos = [(f"The {n} is not {a}.",) for n in NOUNS for a in POS_ADJ]
    neg_pos += [(f"I don't {v} this {n}",) for n in NOUNS for v in POS_VERBS]
    neg_pos = _pick(rng, neg_pos, k)
    mft("negated_positive", "negation", "'not good', 'I don't like it' -> not positive", [c[0] for c in neg_pos],
        "not positive")  # fmt: skip
    neg_neg = [(f"The {n} is not {a}.",) for n in NOUNS for a in NEG_ADJ]
    neg_neg += [(f"I don't {v} this {n}",) for n in NOUNS for v in NEG_VERBS]
    neg_neg += [(f"the {n} was not {a} at all",) for n in NOUNS for a in NEG_ADJ]
    neg_neg += [(f"not {a} at all",) for a in NEG_ADJ]
    neg_neg = _pick(rng, neg_neg, k)
    mft("negated_negative", "negation", "'not bad at all', 'I don't hate it' -> not negative", [c[0] for c in neg_neg],
        "not negative")  # fmt: skip
    neg_neu = _pick(rng, [(f.format(n=n),) for n in NOUNS for f in NEUTRAL_NOT], k)
    mft("negated_neutral", "negation", "'the flight is not on Monday' -> neutral", [c[0] for c in neg_neu], "neutral")

    # emoji and emoticons
    emoji_pos = [c[0] for c in _pick(rng, [(e * r,) for e in POS_EMOJI for r in (1, 2, 3)], k)]
    emoji_neg = [c[0] for c in _pick(rng, [(e * r,) for e in NEG_EMOJI for r in (1, 2, 3)], k)]
    mft("emoji_only_positive", "emoji", "clearly positive emoji alone ('😍😍', '❤️') -> positive", emoji_pos, "positive")
    mft("emoji_only_negative", "emoji", "clearly negative emoji alone ('😡', '😭') -> negative", emoji_neg, "negative")
    mft("emoji_only_not_neutral", "emoji", "clearly polarised emoji alone are not called neutral",
        [c[0] for c in _pick(rng, [(t,) for t in emoji_pos + emoji_neg], k)], "not neutral")  # fmt: skip
    swaps: list[tuple[str, str]] = []
    for emoticon, emojis in EMOTICON_EMOJI.items():
        for s in pos[:8] + neg[:8] + neutral[:8]:
            swaps.append((f"{s} {emoticon}", f"{s} {rng.choice(emojis)}"))
    inv("emoticon_to_emoji", "emoji", "an emoticon swapped for its emoji (':)' -> '🙂') keeps the label",
        _pick(rng, swaps, k))  # fmt: skip
    dir_("positive_emoji_added", "emoji", "appending a positive emoji does not lower P(positive)",
         [(s, f"{s} {rng.choice(POS_EMOJI)}") for s in neutral], ("positive", +1))  # fmt: skip
    dir_("negative_emoji_added", "emoji", "appending a negative emoji does not lower P(negative)",
         [(s, f"{s} {rng.choice(NEG_EMOJI)}") for s in neutral], ("negative", +1))  # fmt: skip

    # typos and contractions
    inv("typos", "robustness", "one swapped pair of letters keeps the label",
        [(s, _typo(rng, s)) for s in pos[: k // 2] + neg[: k // 2]])  # fmt: skip
    contr = []
    for s in [c[0] for c in neg_pos] + [c[0] for c in neg_neg] + pos[:10]:
        for a, b in CONTRACTIONS:
            if a in s:
                contr.append((s, s.replace(a, b)))
            elif b in s:
                contr.append((s, s.replace(b, a)))
    inv("contractions", "robustness", "'is not' <-> \"isn't\", \"don't\" <-> 'do not' keeps the label",
        _pick(rng, contr, k))  # fmt: skip

    # names and places
    def swapped(templates: Sequence[str], key: str, fillers: Sequence[str]) -> list[tuple[str, str]]:
        """Pairs of one template filled with two different `fillers` in slot `key` (same noun and adjective)."""
        pairs = []
        for t in templates:
            for n in NOUNS[:6]:
                for a in POS_ADJ[:3] + NEG_ADJ[:3]:
                    x, y = rng.sample(list(fillers), 2)
                    pairs.append((t.format(n=n, a=a, **{key: x}), t.format(n=n, a=a, **{key: y})))
        return _pick(rng, pairs, k)

    people = ("{p} loved the {n}", "{p} said the {n} was {a}", "just saw {p} at the {n}, so {a}")
    inv("names_swapped", "names and places", "swapping one person's name for another keeps the label",
        swapped(people, "p", NAMES))  # fmt: skip
    places = ("the {n} in {c} was {a}", "flying to {c} tomorrow, the {n} is {a}", "{c} {n}: {a}")
    inv("places_swapped", "names and places", "swapping one city for another keeps the label",
        swapped(places, "c", CITIES))  # fmt: skip

    # intensifiers and hedges
    def modified(adjectives: Sequence[str], mods: Sequence[str]) -> list[tuple[str, str]]:
        combos = [(f"The {n} is {a}.", f"The {n} is {m} {a}.") for n in NOUNS for a in adjectives for m in mods]
        return _pick(rng, combos, k)

    dir_("intensifier_positive", "intensifiers and hedges", "'very good' is not less positive than 'good'",
         modified(POS_ADJ, INTENSIFIERS), ("positive", +1))  # fmt: skip
    dir_("intensifier_negative", "intensifiers and hedges", "'very bad' is not less negative than 'bad'",
         modified(NEG_ADJ, INTENSIFIERS), ("negative", +1))  # fmt: skip
    dir_("hedge_positive", "intensifiers and hedges", "'somewhat good' is not more positive than 'good'",
         modified(POS_ADJ, HEDGES), ("positive", -1))  # fmt: skip
    dir_("hedge_negative", "intensifiers and hedges", "'somewhat bad' is not more negative than 'bad'",
         modified(NEG_ADJ, HEDGES), ("negative", -1))  # fmt: skip
    return tests


def _mft_ok(label: str, expect: str) -> bool:
    if expect.startswith("not "):
        return label != expect[4:]
    return label == expect


def run_suite(proba: Proba, labels: Sequence[str], tests: Sequence[Test] | None = None) -> list[TestResult]:
    """Score every text of the suite in one call of `proba` and judge each case."""
    tests = list(tests if tests is not None else build_suite())
    texts = sorted({t for test in tests for case in test.cases for t in case.texts})
    probs = proba(texts)  # (N, C)
    if probs.shape != (len(texts), len(labels)):
        raise ValueError(f"proba returned shape {probs.shape}, expected {(len(texts), len(labels))}")
    row = {t: probs[i] for i, t in enumerate(texts)}
    label_of = {t: labels[int(np.argmax(p))] for t, p in row.items()}
    results = []
    for test in tests:
        failures, examples = 0, []
        for case in test.cases:
            if test.kind == "MFT":
                ok = _mft_ok(label_of[case.texts[0]], case.expect)
                shown = f"{case.texts[0]!r} -> {label_of[case.texts[0]]} (expected {case.expect})"
            elif test.kind == "INV":
                a, b = case.texts
                ok = label_of[a] == label_of[b]
                shown = f"{a!r} -> {label_of[a]}, {b!r} -> {label_of[b]}"
            else:
                a, b = case.texts
                cls, sign = test.direction
                j = list(labels).index(cls)
                move = float(row[b][j] - row[a][j])
                ok = sign * move >= -TOLERANCE
                shown = f"{a!r} -> {b!r}: P({cls}) {row[a][j]:.2f} -> {row[b][j]:.2f}"
            if not ok:
                failures += 1
                if len(examples) < 3:
                    examples.append(shown)
        results.append(TestResult(test.name, test.capability, test.kind, test.description, len(test.cases),
                                  failures, examples))  # fmt: skip
    return results


CANON_EMOJI = {":)": EMOTICON_EMOJI[":)"], ":(": EMOTICON_EMOJI[":("], ":D": EMOTICON_EMOJI[":D"],
               "<3": EMOTICON_EMOJI["<3"], ";)": EMOTICON_EMOJI[";)"], ":P": EMOTICON_EMOJI[":P"],
               ":/": ("😕",), "</3": ("💔",)}  # fmt: skip


def swap_emoticons(text: str, rng: random.Random) -> str:
    """`text` with every emoticon of a known class replaced by an emoji of the same meaning (':-)' -> '😊')."""
    out, last = [], 0
    for start, end, canon in find_emoticons(text):
        out += [text[last:start], rng.choice(CANON_EMOJI[canon])]
        last = end
    return "".join(out) + text[last:]


def emoticon_swap_invariance(proba: Proba, texts: Sequence[str], seed: int = 2020) -> dict[str, Any]:
    """Of the `texts` that contain an emoticon, the share whose predicted label is unchanged when each emoticon is
    swapped for an equivalent emoji (the issue's invariance figure; labelled tweets contain no emoji at all)."""
    rng = random.Random(seed)
    pairs = [(t, swap_emoticons(t, rng)) for t in texts if find_emoticons(t)]
    if not pairs:
        return {"n": 0, "unchanged": 0, "share_unchanged": 1.0}
    a = proba([p[0] for p in pairs]).argmax(axis=1)  # (N,)
    b = proba([p[1] for p in pairs]).argmax(axis=1)  # (N,)
    same = int((a == b).sum())
    return {"n": len(pairs), "unchanged": same, "share_unchanged": same / len(pairs)}


def format_table(results: Sequence[TestResult], before: Sequence[TestResult] | None = None) -> str:
    """A Markdown table: one row per test with its failure rate (and the `before` rate where given)."""
    prior = {r.name: r for r in before or []}
    head = "| capability | test | type | cases | failure rate |"
    sep = "|---|---|---|---|---|"
    if prior:
        head = "| capability | test | type | cases | failure rate before | failure rate now |"
        sep = "|---|---|---|---|---|---|"
    lines = [head, sep]
    for r in results:
        cells = [r.capability, f"`{r.name}`: {r.description}", r.kind, str(r.n)]
        if prior:
            b = prior.get(r.name)
            cells.append(f"{b.failure_rate:.1%}" if b else "–")
        cells.append(f"{r.failure_rate:.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
