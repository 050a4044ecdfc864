"""Counterfactual negation examples (training/augment.py)."""

from service.core.labels import LABELS
from service.core.tokenizer import is_negator, tokenize
from training.augment import negation_counterfactuals
from training.data import Example

NEG, NEU, POS = (LABELS.index(x) for x in ("negative", "neutral", "positive"))


def test_each_rule_negates_a_real_shape_and_sets_its_label():
    train = [
        Example("1", "the show was great tonight", POS),
        Example("2", "I hate mondays", NEG),
        Example("3", "the match is on Sunday", NEU),
        Example("4", "the show was not great", POS),  # has a negator: skipped
        Example("5", "great great great and awful", POS),  # mixed opinion: skipped
        Example("6", "see you at 5", NEU),  # no copula or verb: skipped
    ]
    out = {ex.id: ex for ex in negation_counterfactuals(train, rate=30.0, seed=1)}
    assert set(out) == {"1#neg", "2#neg", "3#neg"}
    assert (out["1#neg"].text, out["1#neg"].label) == ("the show was not great tonight", NEG)
    assert (out["2#neg"].text, out["2#neg"].label) == ("I don't hate mondays", NEU)
    assert (out["3#neg"].text, out["3#neg"].label) == ("the match is not on Sunday", NEU)
    assert all(any(is_negator(t) for t in tokenize(ex.text)) for ex in out.values())


def test_rate_bounds_the_number_and_zero_adds_nothing():
    train = [Example(str(i), f"the match is on day {i}", NEU) for i in range(300)]
    assert negation_counterfactuals(train, rate=0.0, seed=1) == []
    few = negation_counterfactuals(train, rate=0.03, seed=1)
    assert len(few) == 3 and few == negation_counterfactuals(train, rate=0.03, seed=1)
