"""The training pool: every SemEval file but the sarcasm probe, deduplicated by id, split train/val/test.

The 10 labelled files of 2013-2016 are pooled; a tweet id that occurs in several files is kept once, and dropped
if its copies disagree on the label (84 ids). twitter-2014sarcasm-A.tsv is kept out as a failure-mode probe.
Two protocols (documented in the README and model card):

* ``temporal`` (the default since issue 19): train on every file but the newest, ``twitter-2016test-A.tsv``
  (20,632 tweets); that file is cut by a hash of the tweet id into a temporal validation half (early stopping,
  every hyperparameter, feature and ensemble choice) and a temporal test half (read once per candidate). A tweet
  of that file that also occurs in an older file is deduplicated first and then held out with it, so no copy of
  an evaluation tweet is trained on. This is the protocol that predicts later data (the 2017 test).
* ``random``: the pool is split stratified by label with a seeded permutation: 80% train, 10% validation,
  10% internal test (the protocol before issue 19; it rewards topic memorisation, which does not carry over).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.core.labels import LABELS
from service.core.semeval import read_semeval

SARCASM_FILE = "twitter-2014sarcasm-A.tsv"
TEMPORAL_FILE = "twitter-2016test-A.tsv"  # the newest and largest file: the temporal validation and test halves
SPLITS = ("temporal", "random")


@dataclass
class Example:
    id: str
    text: str
    label: int  # index into LABELS
    files: tuple[str, ...] = ()  # every file the tweet id occurs in (after deduplication)


@dataclass
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    data_sha256: str  # over the sorted (id, label, text) of the whole pool
    n_duplicates: int
    n_conflicts: int
    protocol: str = "random"  # temporal | random | final (see the module docstring and training/crossfit.py)
    augmented: list[Example] = field(default_factory=list)  # extra training examples (training/augment.py)


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
            ex = Example(rec.id, rec.text or "", LABELS.index(rec.label or ""), (path.name,))
            if ex.id in by_id:
                dups += 1
                first = by_id[ex.id]
                if first.label != ex.label:
                    conflicts.add(ex.id)
                first.files = (*first.files, path.name)
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


def id_half(tweet_id: str) -> int:
    """0 (temporal validation) or 1 (temporal test): the low bit of the id's sha256, stable across machines."""
    return hashlib.sha256(tweet_id.encode("utf-8")).digest()[-1] & 1


def temporal_split(pool: list[Example]) -> tuple[list[Example], list[Example], list[Example]]:
    """Train on the tweets of every file but TEMPORAL_FILE; that file's tweets (any id that occurs in it, even if
    an older file has it too) are halved by `id_half` into validation and test."""
    held = [ex for ex in pool if TEMPORAL_FILE in ex.files]
    train = [ex for ex in pool if TEMPORAL_FILE not in ex.files]
    val = [ex for ex in held if id_half(ex.id) == 0]
    test = [ex for ex in held if id_half(ex.id) == 1]
    return train, val, test


def load_splits(
    data_dir: str | Path,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 13,
    limit: int = 0,
    protocol: str = "random",
) -> Splits:
    """The three parts of `protocol` (temporal | random; the fractions and seed apply to random only). `limit`
    keeps about that many tweets in all (the same share of each part), for dry runs and tests."""
    if protocol == "final":  # a final model trained on every part: its tools (int8 check, ensembles) read the
        protocol = "temporal"  # temporal parts, in-sample for it (its held-out figures are training/crossfit.py's)
    if protocol not in SPLITS:
        raise ValueError(f"unknown split protocol {protocol!r}; one of {', '.join(SPLITS)}, final")
    pool, dups, conflicts = load_pool(data_dir)
    digest = pool_hash(pool)
    if protocol == "temporal":
        train, val, test = temporal_split(pool)
        if limit:
            share = min(1.0, limit / len(pool))
            train, val, test = (part[: max(1, round(len(part) * share))] for part in (train, val, test))
    else:
        if limit:
            pool = pool[:limit]
        train, val, test = split_pool(pool, val_fraction, test_fraction, seed)
    return Splits(train, val, test, digest, dups, conflicts, protocol)


def write_tsv(examples: list[Example], path: Path) -> None:
    """Write examples in the SemEval layout (id, label, text), for `sentiment evaluate --data`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for ex in examples:
            text = ex.text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
            if len(text) >= 2 and text[0] == text[-1] == '"':  # would be read back as wrapping quotes
                text = '"' + text.replace('"', '""') + '"'
            f.write(f"{ex.id}\t{LABELS[ex.label]}\t{text}\n")
