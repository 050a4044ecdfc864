"""The training pool: every SemEval file but the sarcasm probe, deduplicated by id, split train/val/test.

Split (documented in the README and model card): the 10 labelled files of 2013-2016 are pooled; a tweet id
that occurs in several files is kept once, and dropped if its copies disagree on the label (84 ids). The
pool is split stratified by label with a seeded permutation: 80% train, 10% validation (early stopping,
temperature), 10% internal test (reported, never tuned on). twitter-2014sarcasm-A.tsv is kept out as a
failure-mode probe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.core.labels import LABELS
from service.core.semeval import read_semeval

SARCASM_FILE = "twitter-2014sarcasm-A.tsv"


@dataclass
class Example:
    id: str
    text: str
    label: int  # index into LABELS


@dataclass
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    data_sha256: str  # over the sorted (id, label, text) of the whole pool
    n_duplicates: int
    n_conflicts: int


def load_pool(data_dir: str | Path) -> tuple[list[Example], int, int]:
    """All labelled tweets, deduplicated. Returns (examples sorted by id, duplicate rows, conflicting ids)."""
    files = sorted(p for p in Path(data_dir).glob("*.tsv") if p.name != SARCASM_FILE)
    if not files:
        raise FileNotFoundError(f"no SemEval .tsv files in {data_dir}")
    by_id: dict[str, Example] = {}
    conflicts: set[str] = set()
    dups = 0
    for path in files:
        for rec in read_semeval(path):
            if rec.error:
                raise ValueError(f"{path.name}: {rec.error}")
            ex = Example(rec.id, rec.text or "", LABELS.index(rec.label or ""))
            if ex.id in by_id:
                dups += 1
                if by_id[ex.id].label != ex.label:
                    conflicts.add(ex.id)
                continue
            by_id[ex.id] = ex
    pool = [ex for i, ex in sorted(by_id.items()) if i not in conflicts]
    return pool, dups, len(conflicts)


def pool_hash(pool: list[Example]) -> str:
    h = hashlib.sha256()
    for ex in pool:
        h.update(f"{ex.id}\t{ex.label}\t{ex.text}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def split_pool(
    pool: list[Example], val_fraction: float, test_fraction: float, seed: int
) -> tuple[list[Example], list[Example], list[Example]]:
    """Stratified by label: each class is permuted with `seed` and cut into test / val / train."""
    rng = np.random.RandomState(seed)
    train, val, test = [], [], []
    for label in range(len(LABELS)):
        members = [ex for ex in pool if ex.label == label]
        perm = rng.permutation(len(members))
        n_test = round(len(members) * test_fraction)
        n_val = round(len(members) * val_fraction)
        test += [members[i] for i in perm[:n_test]]
        val += [members[i] for i in perm[n_test : n_test + n_val]]
        train += [members[i] for i in perm[n_test + n_val :]]
    key = lambda ex: ex.id  # noqa: E731
    return sorted(train, key=key), sorted(val, key=key), sorted(test, key=key)


def load_splits(
    data_dir: str | Path,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 13,
    limit: int = 0,
) -> Splits:
    pool, dups, conflicts = load_pool(data_dir)
    digest = pool_hash(pool)
    if limit:
        pool = pool[:limit]
    train, val, test = split_pool(pool, val_fraction, test_fraction, seed)
    return Splits(train, val, test, digest, dups, conflicts)


def write_tsv(examples: list[Example], path: Path) -> None:
    """Write examples in the SemEval layout (id, label, text), for `sentiment evaluate --data`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for ex in examples:
            text = ex.text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
            if len(text) >= 2 and text[0] == text[-1] == '"':  # would be read back as wrapping quotes
                text = '"' + text.replace('"', '""') + '"'
            f.write(f"{ex.id}\t{LABELS[ex.label]}\t{text}\n")
