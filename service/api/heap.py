"""Keep Python's full garbage collections off the request path of a loaded worker.

A worker holds ~140k long-lived container objects once torch, BentoML and the model are loaded (vocabulary tables,
modules, TorchScript wrappers). Every full (generation-2) collection walks all of them with the GIL held: ~30 ms
measured in process, during which the event loop and the model threads stop; under load such a pause lands in the
middle of requests and sets the p99. `gc.freeze()` after the warm-up moves everything alive at that point into the
permanent generation, which collections skip, so later collections only walk what requests allocate (the objects of
the loaded model never die while the worker lives, so nothing collectable is kept). This is what large Python
servers do after preloading (the CPython docs on `gc.freeze`).
"""

from __future__ import annotations

import gc


def freeze_heap() -> int:
    """Collect once, then freeze every surviving object; returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
