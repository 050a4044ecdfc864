"""Where a training-only data package keeps its files (the lexicons, GloVe, the word counts ship in their wheels)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(name: str, what: str) -> Path:
    """The folder of the installed package `name`; a clear error naming `what` needs it when it is missing."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{what} needs the {name} package (pip install the training extra)")
    return Path(next(iter(spec.submodule_search_locations)))
