"""The behavioural suite: bounded and reproducible, judged right on a known scorer, and the committed model's
figures (a quality gate on the shipped model, through the serving Predictor)."""

import random

import numpy as np
import pytest

from service.core.artifact import load_artifact
from service.core.behaviour import (
    build_suite,
    emoticon_swap_invariance,
    format_table,
    run_suite,
    swap_emoticons,
)
from service.core.labels import LABELS
from service.core.predictor import Predictor
from tests.conftest import DEFAULT_MODEL

CAPABILITIES = {"vocabulary", "negation", "emoji", "robustness", "names and places", "intensifiers and hedges"}


def always(label: str):
    def proba(texts):
        out = np.zeros((len(texts), len(LABELS)))
        out[:, LABELS.index(label)] = 1.0
        return out

    return proba


def test_suite_is_reproducible_bounded_and_covers_every_capability():
    a, b = build_suite(max_cases=20), build_suite(max_cases=20)
    assert [(t.name, [c.texts for c in t.cases]) for t in a] == [(t.name, [c.texts for c in t.cases]) for t in b]
    assert {t.capability for t in a} == CAPABILITIES
    assert {t.kind for t in a} == {"MFT", "INV", "DIR"}
    assert all(0 < len(t.cases) <= 20 for t in a)
    inv = [c for t in a if t.kind in ("INV", "DIR") for c in t.cases]
    assert all(len(c.texts) == 2 for c in inv) and all(c.texts[0] != c.texts[1] for c in inv if c.texts)


def test_an_always_neutral_scorer_fails_exactly_the_non_neutral_expectations():
    results = {r.name: r for r in run_suite(always("neutral"), LABELS, build_suite(max_cases=15))}
    assert results["vocab_positive"].failure_rate == 1.0 and results["vocab_negative"].failure_rate == 1.0
    assert results["vocab_neutral"].failure_rate == 0.0
    assert results["negated_positive"].failure_rate == 0.0  # neutral is "not positive"
    assert results["emoji_only_not_neutral"].failure_rate == 1.0
    assert all(r.failure_rate == 0.0 for r in results.values() if r.kind in ("INV", "DIR"))  # nothing moves
    assert results["vocab_positive"].examples[0].endswith("-> neutral (expected positive)")


def test_a_scorer_with_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        run_suite(lambda texts: np.zeros((len(texts), 2)), LABELS, build_suite(max_cases=2))


def test_emoticons_are_swapped_for_emoji_of_the_same_class():
    rng = random.Random(0)
    swapped = swap_emoticons("great day :-))) see you <3 and :(", rng)
    assert ":" not in swapped and "<3" not in swapped and swapped.startswith("great day ")
    assert swap_emoticons("no emoticon here", rng) == "no emoticon here"
    res = emoticon_swap_invariance(always("positive"), ["plain", "happy :)", "sad :("])
    assert res == {"n": 2, "unchanged": 2, "share_unchanged": 1.0}


def test_table_has_a_row_per_test_and_the_before_column():
    results = run_suite(always("neutral"), LABELS, build_suite(max_cases=5))
    table = format_table(results, before=results)
    assert table.count("\n") == len(results) + 1 and "failure rate before" in table


@pytest.fixture(scope="module")
def committed():
    predictor = Predictor(load_artifact(DEFAULT_MODEL, "cpu"))
    return {r.name: r for r in run_suite(predictor.predict_proba, predictor.labels)}


def test_the_committed_model_reads_emoji(committed):
    for name in ("emoji_only_positive", "emoji_only_negative", "emoji_only_not_neutral", "emoticon_to_emoji"):
        assert committed[name].failure_rate == 0.0, committed[name].examples


# the committed model's figures (docs/model-card.md) with a margin: a retrained default must not regress past them.
# negated_negative is the known weak spot ("not bad at all": 98% -> 87% failures); the bound keeps it from
# sliding back to "always negative".
@pytest.mark.parametrize(
    ("name", "at_most"),
    [("negated_positive", 0.1), ("negated_negative", 0.95), ("negated_neutral", 0.3), ("vocab_positive", 0.1),
     ("vocab_negative", 0.1), ("vocab_neutral", 0.1), ("names_swapped", 0.05), ("places_swapped", 0.05),
     ("typos", 0.3), ("contractions", 0.15), ("hedge_negative", 0.25), ("intensifier_negative", 0.1)],
)  # fmt: skip
def test_the_committed_model_stays_within_its_documented_failure_rates(committed, name, at_most):
    assert committed[name].failure_rate <= at_most, committed[name].examples
