"""The Ray engine's units of work: every input file is one piece, or, when it is big, several.

* JSONL, TSV (with a header, or SemEval) and TXT hold one record per line: a big file is cut into byte ranges of
  about ``split_bytes`` at line ends. Each piece carries the file's line number of its first line and the number of
  data rows before it, so line numbers, default ids and error messages are the whole file's (service/batch/readers.py
  `read_range`), and the file's first line (the TSV header).
* Parquet: runs of row groups of about ``split_bytes``.
* CSV (a quoted field may hold a newline), ``.gz`` (no seeking) and text files with a lone ``\\r`` line end are read
  whole, one piece each.

`scan_inputs` reads every file once (the driver's only pass over the data): sha256 and size for the resume
fingerprint, and the cut points. The pieces are named in input order (``part-FFFFF-PPPPP``: file, piece).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from service.batch.readers import InputFormatError, detect_format, resolve_format
from service.core.manifest import sha256_file
from service.core.semeval import looks_like_semeval

LINE_FORMATS = ("jsonl", "tsv", "semeval", "txt")  # one record per line: cut at line ends
_BLANK_INSIDE = re.compile(r"\n[^\S\n]*(?=\n)")  # a blank line between two line ends (anchored on \n: fast)


@dataclass(frozen=True)
class Piece:
    file_no: int  # position of the file in the input (sorted names of a directory)
    part_no: int  # position of the piece in its file
    path: str  # resolved path (what the workers open)
    source: str  # the path as the user gave it (for messages and rejects)
    fmt: str
    start: int = 0  # first byte (text) or row group (parquet)
    end: int | None = None  # None: the whole file
    line0: int = 1  # the file's line number of the piece's first line
    index0: int = 0  # data rows of the file before the piece
    header: str | None = None  # the file's first line (pieces after the first of a TSV file)

    @property
    def name(self) -> str:
        return f"part-{self.file_no:05d}-{self.part_no:05d}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_inputs(path: str) -> list[str]:
    """One file, or the data files of a directory (sorted by name: that is the output order)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_")) and _data(f))
        if not files:
            raise InputFormatError(f"no input files (.jsonl, .csv, .tsv, .txt, .parquet, .gz) in the directory {path}")
        return files
    raise InputFormatError(f"input not found: {path} (the Ray engine reads files or directories, not stdin)")


def _data(f: Path) -> bool:
    try:
        detect_format(f.name)
    except InputFormatError:
        return False
    return True


def scan_inputs(files: list[str], fmt: str | None, split_bytes: int) -> tuple[dict[str, Any], list[Piece]]:
    """The input's fingerprint (per-file sha256/size/mtime, and one sha256 over them) and its pieces, in order."""
    pieces: list[Piece] = []
    per_file = []
    for file_no, f in enumerate(files):
        file_fmt = resolve_format(f, fmt)
        fp, file_pieces = scan_file(file_no, f, file_fmt, split_bytes)
        per_file.append(fp)
        pieces.extend(file_pieces)
    h = hashlib.sha256()
    for fp in per_file:
        h.update(f"{Path(fp['path']).name}\0{fp['sha256']}\0".encode())
    total = sum(fp["size"] for fp in per_file)
    return {
        "path": str(Path(files[0]).parent if len(files) > 1 else files[0]),
        "size": total,
        "sha256": h.hexdigest(),
        "files": per_file,
    }, pieces


def scan_file(file_no: int, path: str, fmt: str, split_bytes: int) -> tuple[dict[str, Any], list[Piece]]:
    p = Path(path)
    st = p.stat()
    resolved = str(p.resolve())
    whole = Piece(file_no, 0, resolved, path, fmt)
    fp = {"path": resolved, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if fmt in LINE_FORMATS and not path.lower().endswith(".gz") and st.st_size > split_bytes:
        sha, pieces = _line_pieces(whole, split_bytes)
    else:
        sha = sha256_file(p)
        pieces = _parquet_pieces(whole, split_bytes) if fmt == "parquet" else [whole]
    return {**fp, "sha256": sha}, pieces


def _line_pieces(whole: Piece, split_bytes: int) -> tuple[str, list[Piece]]:
    """Byte ranges of ~split_bytes ending at a line end; one pass: sha256, lines and blank lines per range."""
    h = hashlib.sha256()
    cuts: list[tuple[int, int, int, int]] = []  # (start, end, line0, index0)
    header: str | None = None
    pos, line0, index0 = 0, 1, 0
    lone_cr = False
    with open(whole.path, "rb") as f:
        while True:
            data = f.read(split_bytes)
            if not data:
                break
            if not data.endswith(b"\n"):
                data += f.readline()  # to the end of the line (or of the file)
            h.update(data)
            lone_cr = lone_cr or data.count(b"\r") != data.count(b"\r\n")
            text = data.decode("utf-8", "surrogateescape")
            if header is None:
                header = text[: text.find("\n") + 1] if "\n" in text else text
            lines = data.count(b"\n") + (not data.endswith(b"\n"))
            blank = blank_lines(text)
            has_header = whole.fmt == "tsv" and bool(header.strip()) and not looks_like_semeval(header)
            rows = lines - blank - (1 if pos == 0 and has_header else 0)
            cuts.append((pos, pos + len(data), line0, index0))
            pos += len(data)
            line0 += lines
            index0 += rows
    if lone_cr or len(cuts) < 2:  # "\r" alone ends a line for the readers: cut points would misnumber lines
        return h.hexdigest(), [whole]
    pieces = [
        Piece(whole.file_no, i, whole.path, whole.source, whole.fmt, s, e, l0, i0, header if i else None)
        for i, (s, e, l0, i0) in enumerate(cuts)
    ]
    return h.hexdigest(), pieces


def _parquet_pieces(whole: Piece, split_bytes: int) -> list[Piece]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(whole.path).metadata
    except Exception:  # unreadable: one piece, and the reader reports it (pyarrow raises several types)
        return [whole]
    if meta.num_row_groups < 2:
        return [whole]
    pieces: list[Piece] = []
    first, rows_before, size, rows = 0, 0, 0, 0
    for g in range(meta.num_row_groups):
        size += meta.row_group(g).total_byte_size
        rows += meta.row_group(g).num_rows
        if size >= split_bytes or g == meta.num_row_groups - 1:
            pieces.append(
                Piece(
                    whole.file_no,
                    len(pieces),
                    whole.path,
                    whole.source,
                    "parquet",
                    first,
                    g + 1,
                    rows_before + 1,
                    rows_before,
                )
            )
            first, rows_before, size, rows = g + 1, rows_before + rows, 0, 0
    return pieces if len(pieces) > 1 else [whole]


def blank_lines(text: str) -> int:
    """Lines of `text` that the readers skip (``not line.strip()``); a final line without ``\n`` counts too."""
    first_end = text.find("\n")
    if first_end < 0:
        return int(bool(text) and not text.strip())
    n = len(_BLANK_INSIDE.findall(text)) + (not text[:first_end].strip())
    last = text[text.rfind("\n") + 1 :]
    return n + (bool(last) and not last.strip())
