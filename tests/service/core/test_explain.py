"""Occlusion attributions with the exported model (in process)."""

import numpy as np

from service.core.artifact import load_artifact
from service.core.explain import explain
from service.core.predictor import Predictor


def test_attribution_is_the_probability_lost_without_each_token(tiny_model):
    p = Predictor(load_artifact(tiny_model, "cpu"))
    text = "worst flight ever @united, cancelled AGAIN :( #fail"
    e = explain(p, text)
    tokens = p.encoder.tokenize(text)  # the model's own tokenizer options
    assert [t.token for t in e.tokens] == tokens and not e.truncated and e.method == "occlusion"
    (pred,) = p.predict([text])
    assert (e.label, e.scores) == (pred.label, pred.scores)
    c = p.labels.index(e.label)
    full = p.forward([p.encoder.encode_tokens(tokens)])[0, c]
    for i in (0, len(tokens) // 2, len(tokens) - 1):
        without = p.forward([p.encoder.encode_tokens(tokens[:i] + tokens[i + 1 :])])[0, c]
        assert abs(e.tokens[i].attribution - float(full - without)) < 1e-5


def test_long_text_is_truncated_to_max_tokens(tiny_model):
    p = Predictor(load_artifact(tiny_model, "cpu"))
    text = " ".join(f"word{i}" for i in range(100))
    e = explain(p, text, max_tokens=10)
    assert len(e.tokens) == 10 and e.truncated
    assert np.isfinite([t.attribution for t in e.tokens]).all()
    (pred,) = p.predict([text])
    assert (e.label, e.scores) == (pred.label, pred.scores)  # the prediction still reads the whole (cut) text
