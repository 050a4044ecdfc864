"""Baselines on the same split and the same metric code as the BiLSTM (service.core.evaluation).

    python -m training.baselines --split temporal --json docs/baselines-temporal.json
    python -m training.baselines --split random --json docs/baselines.json

Majority class, VADER (its lexicon and rules as shipped, compound score cut at +-0.05, nothing fitted) and TF-IDF
(word 1-2 + char 2-5 grams) + logistic regression. The TF-IDF model's C is picked on validation AvgRec; the test
part is scored once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from service.core.evaluation import evaluate_predictions
from service.core.labels import LABELS
from service.core.tokenizer import tokenize
from training.config import TrainConfig
from training.data import SPLITS, load_splits


def _summary(m: dict[str, Any]) -> dict[str, float]:
    return {"avg_recall": m["avg_recall"], "f1_pn": m["f1_pn"], "accuracy": m["accuracy"], "n": m["n"]}


def majority(train_labels: list[int], test_labels: list[int]) -> dict[str, Any]:
    top = int(np.bincount(train_labels, minlength=len(LABELS)).argmax())
    return evaluate_predictions(test_labels, [top] * len(test_labels))


def vader(test_texts: list[str], threshold: float = 0.05) -> np.ndarray:
    """Predicted labels (N,) from VADER's own compound score (nothing fitted): >= threshold positive, <= -threshold
    negative, else neutral."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    compound = np.array([sia.polarity_scores(t)["compound"] for t in test_texts])
    return np.where(compound >= threshold, 2, np.where(compound <= -threshold, 0, 1))


def vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    bigram = TfidfVectorizer(
        tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, 2), min_df=2, sublinear_tf=True
    )
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=300_000)
    return bigram, char


def tfidf_train_probs(texts: list[str], labels: list[int], c: float = 0.5) -> np.ndarray:
    """Class probabilities (N, C) of the TF-IDF + LR baseline (C = the value validation picked) on its own
    training texts: the soft targets for distillation into the BiLSTM (`--distill`)."""
    bigram, char = vectorizers()
    x = hstack([bigram.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, labels)
    return clf.predict_proba(x)


def tfidf_lr(
    train: tuple[list[str], list[int]],
    val: tuple[list[str], list[int]],
    test: tuple[list[str], list[int]],
    cs: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0),
) -> dict[str, Any]:
    bigram, char = vectorizers()
    x_train = hstack([bigram.fit_transform(train[0]), char.fit_transform(train[0])]).tocsr()
    x_val = hstack([bigram.transform(val[0]), char.transform(val[0])]).tocsr()
    x_test = hstack([bigram.transform(test[0]), char.transform(test[0])]).tocsr()
    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for c in cs:
        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        clf.fit(x_train, train[1])
        score = evaluate_predictions(val[1], clf.predict(x_val).tolist())["avg_recall"]
        print(f"  TF-IDF+LR C={c}: val AvgRec {score:.4f}", file=sys.stderr)
        if score > best[0]:
            best = (score, c, clf)
    m = evaluate_predictions(test[1], best[2].predict(x_test).tolist())
    m["C"], m["val_avg_recall"] = best[1], best[0]
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.baselines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--split", choices=SPLITS, default="temporal", help="evaluation protocol (default: temporal)")
    args = p.parse_args(argv)
    cfg = TrainConfig()
    s = load_splits(cfg.data_dir, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, protocol=args.split)
    cols = lambda xs: ([e.text for e in xs], [e.label for e in xs])  # noqa: E731
    train, val, test = cols(s.train), cols(s.val), cols(s.test)
    t0 = time.time()
    results: dict[str, Any] = {"majority": _summary(majority(train[1], test[1]))}
    results["vader"] = _summary(evaluate_predictions(test[1], vader(test[0]).tolist()))
    tf = tfidf_lr(train, val, test)
    results["tfidf_lr"] = {
        **_summary(tf),
        "C": tf["C"],
        "val_avg_recall": tf["val_avg_recall"],
        "seconds": round(time.time() - t0, 1),
    }
    results = {"split": args.split, "n_train": len(train[0]), "n_val": len(val[0]), **results}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
