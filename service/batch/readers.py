"""Streaming readers for the input formats: SemEval TSV, TSV/CSV with header, JSONL, TXT, Parquet (+ .gz).

Every reader yields `Record`s one at a time (constant memory). A malformed row is not raised and not dropped:
it comes out as a Record with `error` set and its line number, so the caller can skip it into a rejects file or
stop the job. Bytes that are not UTF-8 are kept through ``surrogateescape`` and reported as errors. The SemEval
layout itself is service/core/semeval.py (training reads it too).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from service.core.records import Record, mark_bad_text
from service.core.semeval import looks_like_semeval, parse_semeval
from service.core.textfile import open_text

FORMATS = ("semeval", "tsv", "csv", "jsonl", "txt", "parquet")


class InputFormatError(ValueError):
    """The input as a whole cannot be read (unknown format, missing column, unreadable file)."""


def detect_format(path: str) -> str:
    name = path.lower().removesuffix(".gz")
    for ext, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".txt", "txt"),
        (".parquet", "parquet"),
    ):
        if name.endswith(ext):
            return fmt
    raise InputFormatError(
        f"cannot tell the format of {path!r} from its extension; use .jsonl, .csv, .tsv, .txt or .parquet "
        "(optionally .gz), or pass --format"
    )


def resolve_format(path: str, fmt: str | None = None) -> str:
    """The input's format: `fmt` when given; JSON lines for stdin (``-``); else by extension. A path that does not
    exist is reported as such, not as an unknown format."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    if path == "-":
        return "jsonl"
    p = Path(path)
    if not p.exists():
        raise InputFormatError(f"input file not found: {path}")
    if p.is_dir():
        raise InputFormatError(f"{path} is a directory: give one file (`--engine ray` also reads a folder of shards)")
    return detect_format(path)


def _open_text(path: str) -> IO[str]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline="")
    if not Path(path).is_file():
        raise InputFormatError(f"input file not found: {path}")
    return open_text(path)


def _read_delimited(
    f: IO[str], delimiter: str, text_field: str, id_field: str, line_offset: int = 0, index: int = 0
) -> Iterator[Record]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise InputFormatError(f"cannot read the header: {e}") from e
    header = [h.strip().lstrip("\ufeff") for h in header]
    if text_field not in header:
        raise InputFormatError(f"no {text_field!r} column in the header {header}; choose one with --text-field")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            line_no = reader.line_num + line_offset
            yield Record(index, line_no, str(index + 1), None, error=f"line {line_no}: {e}")
            index += 1
            continue
        line_no = reader.line_num + line_offset
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) > len(header):
            row = row[: len(header)] if all(not c for c in row[len(header) :]) else row
        fields: dict[str, Any] = dict(zip(header, row, strict=False))
        rec = Record(index, line_no, str(fields.get(id_field) or index + 1), fields.get(text_field), None, fields)
        if len(row) != len(header):
            rec.error = f"line {line_no}: {len(row)} fields, the header has {len(header)}"
        if "label" in fields:
            rec.label = str(fields["label"]).strip().lower() or None
        yield mark_bad_text(rec)
        index += 1


def _read_jsonl(f: IO[str], text_field: str, id_field: str, line0: int = 1, index: int = 0) -> Iterator[Record]:
    for line_no, line in enumerate(f, line0):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Record(index, line_no, str(index + 1), None, error=f"line {line_no}: invalid JSON ({e.msg})")
            index += 1
            continue
        if not isinstance(obj, dict):
            yield Record(
                index,
                line_no,
                str(index + 1),
                None,
                error=f"line {line_no}: expected a JSON object, got {type(obj).__name__}",
            )
            index += 1
            continue
        rid = obj.get(id_field)
        label = obj.get("label")
        rec = Record(
            index,
            line_no,
            str(rid) if rid is not None else str(index + 1),
            obj.get(text_field),
            label.strip().lower() if isinstance(label, str) else None,
            obj,
        )
        yield mark_bad_text(rec)
        index += 1


def _read_txt(f: IO[str], line0: int = 1, index: int = 0) -> Iterator[Record]:
    for line_no, line in enumerate(f, line0):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        yield mark_bad_text(Record(index, line_no, str(line_no), text, None, {"line": line_no}))
        index += 1


def _read_parquet(
    path: str, text_field: str, id_field: str, row_groups: list[int] | None = None, index: int = 0
) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a bad file
        raise InputFormatError(f"cannot read parquet file {path}: {e}") from e
    if text_field not in pf.schema_arrow.names:
        raise InputFormatError(f"no {text_field!r} column in {pf.schema_arrow.names}; choose one with --text-field")
    for batch in pf.iter_batches(batch_size=4096, row_groups=row_groups):
        for row in batch.to_pylist():
            rid = row.get(id_field)
            label = row.get("label")
            rec = Record(
                index,
                index + 1,
                str(rid) if rid is not None else str(index + 1),
                row.get(text_field),
                label.strip().lower() if isinstance(label, str) else None,
                row,
            )
            yield mark_bad_text(rec)
            index += 1


def read_records(path: str, fmt: str | None = None, text_field: str = "text", id_field: str = "id") -> Iterator[Record]:
    """Stream the records of one input file (``-`` for stdin, JSON lines unless `fmt` says otherwise). Raises
    InputFormatError for unreadable inputs."""
    fmt = resolve_format(path, fmt)
    if fmt == "parquet":
        if path == "-":
            raise InputFormatError("parquet cannot be read from stdin; pass a file path")
        yield from _read_parquet(path, text_field, id_field)
        return
    with _open_text(path) as f:
        if fmt == "jsonl":
            yield from _read_jsonl(f, text_field, id_field)
        elif fmt == "txt":
            yield from _read_txt(f)
        elif fmt == "csv":
            yield from _read_delimited(f, ",", text_field, id_field)
        else:  # tsv: SemEval layout (no header) or a header row
            first = f.readline()
            if fmt == "semeval" or looks_like_semeval(first):
                yield from parse_semeval(_chain(first, f))
            else:
                yield from _read_delimited(_chain_io(first, f), "\t", text_field, id_field)


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


class _chain_io(io.TextIOBase):
    def __init__(self, first: str, rest: IO[str]) -> None:
        self._it = _chain(first, rest)

    def __iter__(self) -> Iterator[str]:
        return self._it

    def __next__(self) -> str:
        return next(self._it)


def read_range(
    path: str,
    fmt: str,
    text_field: str = "text",
    id_field: str = "id",
    *,
    start: int = 0,
    end: int | None = None,
    line0: int = 1,
    index0: int = 0,
    header: str | None = None,
) -> Iterator[Record]:
    """The records of one piece of a file (service/batch/splits.py): bytes ``[start, end)`` of a line-per-record
    text file, or row groups ``[start, end)`` of a Parquet file. `line0` is the file's line number of the piece's first
    line and `index0` the data rows before it, so line numbers, default ids and errors are the whole file's; `header`
    is the file's first line (a TSV header, or a SemEval row that tells the layout). The whole file when `end` is
    None."""
    if end is None:
        yield from read_records(path, fmt, text_field, id_field)
        return
    if fmt == "parquet":
        yield from _read_parquet(path, text_field, id_field, list(range(start, end)), index0)
        return
    with open(path, "rb") as raw:
        raw.seek(start)
        data = raw.read(end - start)
    f = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline="")
    if fmt == "jsonl":
        yield from _read_jsonl(f, text_field, id_field, line0, index0)
    elif fmt == "txt":
        yield from _read_txt(f, line0, index0)
    elif fmt in ("tsv", "semeval"):
        if start == 0:
            header = f.readline()
            lines: Iterator[str] = _chain(header, f)
        elif header is None:
            raise InputFormatError(f"{path}: a TSV piece after the first needs the file's first line")
        else:
            lines = iter(f)
        if fmt == "semeval" or looks_like_semeval(header):
            yield from parse_semeval(lines, start_line=line0, first_index=index0)
        elif start == 0:
            yield from _read_delimited(_chain_io(header, f), "\t", text_field, id_field)
        else:  # the header line, then this piece's lines (numbered from line0)
            yield from _read_delimited(_chain_io(header, f), "\t", text_field, id_field, line0 - 2, index0)
    else:
        raise InputFormatError(f"{path}: {fmt} files are read whole, not in byte ranges")
