"""What an answer looks like: a prediction from a predictor row, and the schemas' validation of input."""

import pytest
from pydantic import ValidationError

from service.core.schemas import Explanation, Prediction, Scores

ROW = {"label": "positive", "scores": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}}


def test_a_prediction_from_a_row_dumps_back_to_the_row():
    p = Prediction.from_row(ROW)
    assert p.label == "positive" and p.scores.positive == 0.7
    assert p.model_dump() == ROW == Prediction.model_validate(ROW).model_dump()


def test_scores_need_the_three_classes():
    with pytest.raises(ValidationError):
        Scores.model_validate({"negative": 0.5, "positive": 0.5})


def test_an_explanation_lists_tokens_in_order():
    e = Explanation.model_validate({**ROW, "tokens": [{"token": "love", "attribution": 0.3}], "truncated": False})
    assert e.method == "occlusion" and e.tokens[0].token == "love"
