from collections import Counter

import pytest

from service.batch.readers import read_records
from service.core.paths import DATA_DIR
from training.data import TEMPORAL_FILE, id_half, load_pool, load_splits, split_pool, write_tsv


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


def test_temporal_split_holds_out_every_id_of_the_newest_file(pool):
    examples = pool[0]
    s = load_splits(DATA_DIR, protocol="temporal")
    assert s.protocol == "temporal"
    held = {ex.id for ex in examples if TEMPORAL_FILE in ex.files}
    val, test, train = ({e.id for e in part} for part in (s.val, s.test, s.train))
    assert val | test == held and not val & test
    assert not held & train and len(train) + len(held) == len(examples)
    assert (len(s.train), len(s.val), len(s.test)) == (28898, 10253, 10249)
    # a tweet of the newest file that an older file also has is held out with it, never trained on
    shared = {ex.id for ex in examples if TEMPORAL_FILE in ex.files and len(set(ex.files)) > 1}
    assert len(shared) >= 37 and shared <= val | test
    assert all(id_half(i) == 0 for i in val) and all(id_half(i) == 1 for i in test)
    # the hash halves are alike: label shares within a point
    for label in range(3):
        val_share = sum(e.label == label for e in s.val) / len(s.val)
        test_share = sum(e.label == label for e in s.test) / len(s.test)
        assert abs(val_share - test_share) < 0.01


def test_temporal_limit_keeps_every_part_and_random_is_still_available():
    small = load_splits(DATA_DIR, limit=3000, protocol="temporal")
    assert 2800 < len(small.train) + len(small.val) + len(small.test) < 3200
    assert len(small.val) > 500 and len(small.test) > 500
    rand = load_splits(DATA_DIR, 0.1, 0.1, 2017, protocol="random")
    assert (len(rand.train), len(rand.val), len(rand.test)) == (39522, 4939, 4939)
    with pytest.raises(ValueError, match="unknown split protocol"):
        load_splits(DATA_DIR, protocol="later")
