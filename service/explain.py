"""Per-token attributions by occlusion: leave one token out, see how much the predicted class loses.

For a text with tokens ``t_1..t_n`` (the tokenizer's normalised tokens, at most the model's ``max_len``)
the exported model scores the full text and the ``n`` texts with one token removed, in one batched forward
pass of ``n + 1`` rows. The attribution of ``t_i`` is ``p(label | text) - p(label | text without t_i)``:
positive when the token supports the predicted label, negative when it speaks against it. It needs no
gradients, no training code and works for any exported artifact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.predictor import Prediction, Predictor


@dataclass
class Explanation:
    prediction: Prediction
    tokens: list[str]
    attributions: list[float]  # one per token, for the predicted label
    truncated: bool  # the text had more tokens than the model reads; the rest are not shown


def explain(predictor: Predictor, text: str, max_tokens: int | None = None) -> Explanation:
    encoder = predictor.encoder
    limit = encoder.cfg.max_len if max_tokens is None else min(max_tokens, encoder.cfg.max_len)
    all_tokens = encoder.tokenize(text)  # the model's own tokenizer options
    tokens = all_tokens[:limit]
    rest = all_tokens[limit : encoder.cfg.max_len]  # read by the model but not occluded
    variants = [encoder.encode_tokens(tokens + rest)]
    variants += [encoder.encode_tokens(tokens[:i] + tokens[i + 1 :] + rest) for i in range(len(tokens))]
    probs = predictor.forward(variants).astype(np.float64)  # (n + 1, C)
    full = probs[0]
    c = int(full.argmax())
    attributions = np.round(full[c] - probs[1:, c], 6).tolist()  # (n,)
    prediction = predictor.to_predictions(probs[:1].astype(np.float32))[0]  # the same rounding as /predict
    return Explanation(prediction, list(tokens), attributions, len(all_tokens) > limit)
