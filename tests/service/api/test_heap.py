"""freeze_heap: what is alive after the model's warm-up leaves the cyclic collector's work."""

from __future__ import annotations

import gc

from service.api.heap import freeze_heap


def test_freeze_moves_live_objects_out_of_collections_and_garbage_still_goes():
    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the cyclic collector frees it

    keep = [Node() for _ in range(1000)]
    try:
        frozen = freeze_heap()
        assert frozen >= len(keep) and gc.get_freeze_count() == frozen
        tracked = len(gc.get_objects())
        assert tracked < frozen  # the collector no longer walks the frozen objects
        for _ in range(100):
            Node()  # cycles made after the freeze are still collected
        assert gc.collect() >= 100
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
