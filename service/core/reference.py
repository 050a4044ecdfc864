"""The cross-path reference: clean real tweets and the in-process `Predictor`'s answers for them.

Every way of scoring (the in-process Predictor, `sentiment score` to each format, `--engine ray`, `--via-api`,
``POST /predict``, the container) must give the same ids in the same order, identical labels and scores within
`SCORE_ATOL` of this reference for the same model and precision. A product check (the service's paths agree),
used by tests/test_cross_path.py, scripts/docker_e2e.py, scripts/gpu_check.py and the tooling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.core.labels import LABELS
from service.core.paths import DATA_DIR
from service.core.semeval import read_semeval

# files of the labelled 2016 releases, read in this order; their first rows with a new id and a clean text
SOURCE_FILES = ("twitter-2016devtest-A.tsv", "twitter-2016dev-A.tsv")
SCORE_ATOL = 1e-5


class Mismatch(AssertionError):
    """A path disagrees with the reference; the message names the path, the row and both answers."""


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str


def clean_tweets(n: int = 2000, data_dir: Path = DATA_DIR) -> list[Tweet]:
    """`n` real tweets with distinct ids and no bad row (every text valid), in file order."""
    out: list[Tweet] = []
    seen: set[str] = set()
    for name in SOURCE_FILES:
        for rec in read_semeval(data_dir / name):
            if rec.bad or rec.id in seen:
                continue
            seen.add(rec.id)
            out.append(Tweet(rec.id, rec.text or ""))
            if len(out) == n:
                return out
    raise ValueError(f"only {len(out)} clean tweets with distinct ids in {', '.join(SOURCE_FILES)}")


def write_jsonl(tweets: Iterable[Tweet], path: Path, bad_line: bool = False) -> Path:
    """The tweets as ``{"id", "text"}`` JSON lines; `bad_line` appends one line that is not JSON."""
    lines = [json.dumps({"id": t.id, "text": t.text}, ensure_ascii=False) + "\n" for t in tweets]
    if bad_line:
        lines.append('{"id": "broken", "text": \n')
    path.write_text("".join(lines), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Answer:
    id: str
    label: str
    scores: dict[str, float]


def reference_answers(model_dir: Path, precision: str, tweets: Sequence[Tweet]) -> list[Answer]:
    """What the in-process Predictor answers (CPU, the API's rounding)."""
    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    predictor = Predictor(load_artifact(model_dir, "cpu", precision=precision))
    rows = predictor.to_rows(predictor.predict_proba([t.text for t in tweets]))
    return [Answer(t.id, r["label"], r["scores"]) for t, r in zip(tweets, rows, strict=True)]


def answers_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Answer]:
    """Scored rows of any output format (JSONL/parquet ``scores``, CSV ``score_<label>`` columns) or /predict."""
    out = []
    for i, r in enumerate(rows):
        if "scores" in r:
            scores = {k: float(v) for k, v in dict(r["scores"]).items()}
        else:
            scores = {lab: float(r[f"score_{lab}"]) for lab in LABELS}
        out.append(Answer(str(r.get("id", i)), str(r["label"]), scores))
    return out


def compare(name: str, got: Sequence[Answer], want: Sequence[Answer], atol: float = SCORE_ATOL) -> dict[str, Any]:
    """Raise `Mismatch` unless `got` has the ids of `want` in order, the same labels and scores within `atol`.
    Returns the figures (rows, label agreement, largest score difference)."""
    if len(got) != len(want):
        raise Mismatch(f"{name}: {len(got)} rows, the reference has {len(want)}")
    worst, where = 0.0, None
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.id != w.id:
            raise Mismatch(f"{name}: row {i} has id {g.id!r}, the reference {w.id!r} (order or ids differ)")
        if g.label != w.label:
            raise Mismatch(f"{name}: id {w.id} labelled {g.label} {g.scores}, the reference {w.label} {w.scores}")
        if set(g.scores) != set(w.scores):
            raise Mismatch(f"{name}: id {w.id} has score keys {sorted(g.scores)}, expected {sorted(w.scores)}")
        diff = max(abs(g.scores[k] - w.scores[k]) for k in w.scores)
        if diff > worst:
            worst, where = diff, w.id
    if worst > atol:
        raise Mismatch(f"{name}: scores of id {where} differ by {worst:.2e} from the reference (> {atol:.0e})")
    return {"path": name, "rows": len(got), "label_agreement": 1.0, "max_score_diff": worst}
