"""Per-token attributions by occlusion: leave one token out, see how much the predicted class loses.

For a text with tokens ``t_1..t_n`` (the tokenizer's normalised tokens, at most the model's ``max_len``)
the exported model scores the full text and the ``n`` texts with one token removed, in one batched forward
pass of ``n + 1`` rows. The attribution of ``t_i`` is ``p(label | text) - p(label | text without t_i)``:
positive when the token supports the predicted label, negative when it speaks against it. It needs no
gradients, no training code and works for any exported artifact.
"""

from __future__ import annotations

import numpy as np

from service.core.predictor import Predictor
from service.core.schemas import Explanation, Scores, TokenAttribution


def explain(predictor: Predictor, text: str, max_tokens: int | None = None) -> Explanation:
    encoder = predictor.encoder
    limit = encoder.cfg.max_len if max_tokens is None else min(max_tokens, encoder.cfg.max_len)
    all_tokens = encoder.tokenize(text)  # the model's own tokenizer options
    tokens = all_tokens[:limit]
    rest = all_tokens[limit : encoder.cfg.max_len]  # read by the model but not occluded
    variants = [encoder.encode_tokens(tokens + rest)]
    variants += [encoder.encode_tokens(tokens[:i] + tokens[i + 1 :] + rest) for i in range(len(tokens))]
    probs = predictor.forward(variants)  # (n + 1, C)
    (row,) = predictor.to_rows(probs[:1])  # the same rounding as /predict
    c = predictor.labels.index(row["label"])
    attributions = np.round(probs[0, c].astype(np.float64) - probs[1:, c].astype(np.float64), 6).tolist()  # (n,)
    return Explanation.model_construct(
        label=row["label"],
        scores=Scores.model_construct(**row["scores"]),
        method="occlusion",
        tokens=[
            TokenAttribution.model_construct(token=t, attribution=a) for t, a in zip(tokens, attributions, strict=True)
        ],
        truncated=len(all_tokens) > limit,
    )
