"""Opening a text input of any format: plain or ``.gz``, UTF-8, undecodable bytes kept for the row checks."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO


def open_text(path: str | Path) -> IO[str]:
    """A text file (``.gz`` decompressed) as UTF-8, undecodable bytes kept through ``surrogateescape``."""
    p = Path(path)
    raw: IO[bytes] = gzip.open(p, "rb") if p.name.lower().endswith(".gz") else open(p, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
