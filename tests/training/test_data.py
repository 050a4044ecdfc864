from collections import Counter

import pytest

from service.batch.readers import read_records
from tests.conftest import DATA_DIR
from training.data import load_pool, load_splits, split_pool, write_tsv


@pytest.fixture(scope="module")
def pool():
    return load_pool(DATA_DIR)


def test_pool_is_deduplicated_and_conflicts_dropped(pool):
    examples, dups, conflicts = pool
    ids = [ex.id for ex in examples]
    assert len(ids) == len(set(ids))
    assert dups == 764 and conflicts == 84
    assert len(examples) == 50334 - 86 - dups - conflicts  # all files, minus the sarcasm probe


def test_split_is_stratified_disjoint_and_reproducible(pool):
    examples = pool[0]
    train, val, test = split_pool(examples, 0.1, 0.1, seed=2017)
    assert {e.id for e in train}.isdisjoint({e.id for e in test})
    assert {e.id for e in val}.isdisjoint({e.id for e in test} | {e.id for e in train})
    assert len(train) + len(val) + len(test) == len(examples)
    full = Counter(e.label for e in examples)
    for part in (val, test):
        mix = Counter(e.label for e in part)
        for label, n in full.items():
            assert abs(mix[label] / len(part) - n / len(examples)) < 0.002
    again = split_pool(examples, 0.1, 0.1, seed=2017)[2]
    assert [e.id for e in again] == [e.id for e in test]
    assert [e.id for e in split_pool(examples, 0.1, 0.1, seed=1)[2]] != [e.id for e in test]


def test_written_split_reads_back_identically(tmp_path):
    splits = load_splits(DATA_DIR, limit=400)
    write_tsv(splits.test, tmp_path / "t.tsv")
    recs = list(read_records(str(tmp_path / "t.tsv")))
    assert [(r.id, r.text) for r in recs] == [
        (e.id, " ".join(e.text.replace("\t", " ").split("\n")).replace("\r", " ")) for e in splits.test
    ]
