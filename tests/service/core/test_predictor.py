"""The one forward loop and the answer rows, on the committed model (models/default) and real arrays."""

import numpy as np
import pytest
import torch

from service.core.artifact import load_artifact
from service.core.cores import CPU_CHUNK
from service.core.paths import DEFAULT_MODEL_DIR
from service.core.predictor import (
    BatchContractError,
    InvalidScores,
    Predictor,
    check_batch_contract,
    check_probabilities,
    forward_sorted,
    label_rows,
)

TEXTS = [
    "I love this phone, best purchase ever :)",
    "no",
    "Worst customer service I have ever had, never again #fail",
    "The meeting is moved to 3pm on Tuesday.",
    "meh",
    "so so so happy today!!! @bob http://t.co/x",
]


@pytest.fixture(scope="module")
def artifact():
    return load_artifact(DEFAULT_MODEL_DIR, "cpu")


def test_a_cpu_forward_holds_at_most_cpu_chunk_texts(artifact):
    assert Predictor(artifact, max_batch_size=256).max_batch_size == CPU_CHUNK
    assert Predictor(artifact, max_batch_size=8).max_batch_size == 8
    assert Predictor(artifact, max_batch_size=256, cpu_chunk=128).max_batch_size == 128


def test_answers_come_back_in_input_order_whatever_the_chunking(artifact):
    one_call = Predictor(artifact, max_batch_size=64).predict_proba(TEXTS)  # (N, C)
    one_by_one = np.concatenate([Predictor(artifact).predict_proba([t]) for t in TEXTS])
    chunks_of_two = Predictor(artifact, max_batch_size=2).predict_proba(TEXTS)
    assert one_call.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(one_call, one_by_one, atol=1e-5)
    np.testing.assert_allclose(one_call, chunks_of_two, atol=1e-5)
    np.testing.assert_allclose(one_call.sum(axis=1), 1.0, atol=1e-5)


def test_predict_gives_the_rows_of_predict_proba(artifact):
    p = Predictor(artifact)
    preds = p.predict(TEXTS[:2])
    rows = p.to_rows(p.predict_proba(TEXTS[:2]))
    assert [(x.label, x.scores.model_dump()) for x in preds] == [(r["label"], r["scores"]) for r in rows]


def test_logits_are_the_probabilities_before_temperature(artifact):
    p = Predictor(artifact)
    enc = p.encode(TEXTS)
    t = float(artifact.manifest.temperature)
    probs = torch.softmax(torch.from_numpy(p.logits(enc)) / t, dim=1).numpy()
    np.testing.assert_allclose(probs, p.forward(enc), atol=1e-5)


def test_a_model_call_returning_fewer_rows_breaks_the_batch_contract(artifact):
    enc = Predictor(artifact).encode(TEXTS)

    def drops_the_last_row(word, sub, lengths):
        return artifact.module(word, sub, lengths)[:-1]

    with pytest.raises(BatchContractError, match="model forward: 2 outputs for 3 inputs"):
        forward_sorted(drops_the_last_row, enc, 3, torch.device("cpu"), 3)
    check_batch_contract(4, 4, "fine")


def test_label_rows_picks_the_largest_and_rounds_to_six_decimals():
    probs = np.array([[0.1234567, 0.2, 0.6765433], [0.5, 0.3, 0.2]], dtype=np.float32)
    rows = label_rows(probs, ("negative", "neutral", "positive"))
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert rows[0]["scores"]["negative"] == pytest.approx(0.123457, abs=1e-9)
    assert list(rows[1]["scores"]) == ["negative", "neutral", "positive"]


@pytest.mark.parametrize(
    "bad_row",
    [[np.nan, 0.5, 0.5], [np.inf, 0.0, 0.0], [-0.1, 0.6, 0.5], [0.5, 0.5, 0.5], [1.2, -0.1, -0.1]],
)
def test_invalid_probability_rows_are_refused_with_their_positions(bad_row):
    probs = np.array([[0.2, 0.3, 0.5], bad_row, [1.0, 0.0, 0.0]], dtype=np.float32)
    with pytest.raises(InvalidScores, match="for 1 of 3 texts") as e:
        check_probabilities(probs)
    assert e.value.rows == [1]
    with pytest.raises(InvalidScores):
        label_rows(probs, ("negative", "neutral", "positive"))


def test_rows_summing_to_one_within_the_tolerance_pass():
    check_probabilities(np.array([[0.3335, 0.3335, 0.3335], [0.0, 0.0, 1.0]], dtype=np.float32))
