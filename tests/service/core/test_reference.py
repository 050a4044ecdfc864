"""The cross-path reference: the clean tweets, reading any path's answers, and the comparison's verdicts."""

import json

import pytest

from service.core.reference import Answer, Mismatch, Tweet, answers_from_rows, clean_tweets, compare, write_jsonl

A = Answer("1", "positive", {"negative": 0.1, "neutral": 0.1, "positive": 0.8})
B = Answer("2", "negative", {"negative": 0.7, "neutral": 0.2, "positive": 0.1})


def test_clean_tweets_have_distinct_ids_and_valid_texts():
    tweets = clean_tweets(300)
    assert len(tweets) == 300 and len({t.id for t in tweets}) == 300
    assert all(t.text.strip() for t in tweets)


def test_rows_of_every_format_become_answers():
    jsonl = [{"id": "1", "label": "positive", "scores": A.scores}]
    csv = [{"id": "1", "label": "positive", "score_negative": "0.1", "score_neutral": "0.1", "score_positive": "0.8"}]
    predict = [{"label": "positive", "scores": A.scores}]  # /predict: no ids, the position is the id
    assert answers_from_rows(jsonl) == answers_from_rows(csv) == [A]
    assert answers_from_rows(predict) == [Answer("0", "positive", A.scores)]


def test_compare_accepts_equal_answers_within_the_tolerance():
    near = Answer("1", "positive", {"negative": 0.100004, "neutral": 0.1, "positive": 0.799996})
    figures = compare("path", [near, B], [A, B])
    assert figures["rows"] == 2 and figures["max_score_diff"] == pytest.approx(4e-6, abs=1e-7)


@pytest.mark.parametrize(
    ("got", "message"),
    [
        ([A], "path: 1 rows, the reference has 2"),
        ([B, A], "row 0 has id '2', the reference '1'"),
        ([Answer("1", "negative", A.scores), B], "id 1 labelled negative"),
        ([Answer("1", "positive", {"pos": 1.0}), B], "id 1 has score keys"),
        ([Answer("1", "positive", {**A.scores, "positive": 0.81}), B], "differ by 1.00e-02"),
    ],
)
def test_compare_names_the_first_disagreement(got, message):
    with pytest.raises(Mismatch, match=message.replace("(", r"\(")):
        compare("path", got, [A, B])


def test_write_jsonl_with_a_broken_last_line(tmp_path):
    p = write_jsonl([Tweet("1", "café")], tmp_path / "t.jsonl", bad_line=True)
    first, broken = p.read_text(encoding="utf-8").splitlines()
    assert json.loads(first) == {"id": "1", "text": "café"}
    with pytest.raises(ValueError):
        json.loads(broken)
