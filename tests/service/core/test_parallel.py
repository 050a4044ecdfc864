"""`ParallelProba`: one batch as concurrent model calls gives the single call's scores, in input order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from service.core.artifact import load_artifact
from service.core.parallel import ParallelProba, slice_groups
from service.core.paths import DEFAULT_MODEL_DIR as DEFAULT_MODEL
from service.core.predictor import Predictor
from service.core.reference import clean_tweets


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(load_artifact(DEFAULT_MODEL, "cpu"), max_batch_size=64)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [t.text for t in clean_tweets(600)]


@pytest.mark.parametrize("n", [1, 31, 64, 65, 200, 600])
@pytest.mark.parametrize("threads", [2, 3])
def test_parallel_scores_equal_one_call_in_input_order(predictor: Predictor, texts: list[str], n: int, threads: int):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        batch = texts[:n][::-1]  # not length-sorted, not in the file's order
        one = predictor.predict_proba(batch)
        par = ParallelProba(predictor, threads)
        try:
            got = par(batch)
        finally:
            par.close()
    finally:
        torch.set_num_threads(before)
    assert got.shape == one.shape == (n, len(predictor.labels))
    if n >= 2 * 64:  # whole chunks: each call sees exactly the tensors of the single call
        np.testing.assert_array_equal(got, one)
    else:  # slices of >= 32 texts: other padding, same model
        np.testing.assert_allclose(got, one, rtol=0, atol=1e-6)
    assert (got.argmax(1) == one.argmax(1)).all()


def test_slices_cover_every_position_once_with_whole_chunks_when_there_are_enough():
    order = list(range(300))
    groups = slice_groups(order, chunk=64, threads=2)
    assert [len(g) for g in groups] == [64, 64, 64, 64, 44]
    assert [len(g) for g in slice_groups(list(range(100)), chunk=64, threads=2)] == [50, 50]
    assert [len(g) for g in slice_groups(list(range(40)), chunk=64, threads=4)] == [40]  # < 2 x 32: one call
    for n, k in [(0, 2), (1, 2), (63, 3), (1000, 4)]:
        flat = [i for g in slice_groups(list(range(n)), chunk=64, threads=k) for i in g]
        assert flat == list(range(n))


def test_threads_below_one_are_refused(predictor: Predictor):
    with pytest.raises(ValueError, match="threads must be >= 1"):
        ParallelProba(predictor, 0)
