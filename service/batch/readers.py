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


def _read_delimited(f: IO[str], delimiter: str, text_field: str, id_field: str) -> Iterator[Record]:
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
    index = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            line_no = reader.line_num
            yield Record(index, line_no, str(index + 1), None, error=f"line {line_no}: {e}")
            index += 1
            continue
        line_no = reader.line_num
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


def _read_jsonl(f: IO[str], text_field: str, id_field: str) -> Iterator[Record]:
    index = 0
    for line_no, line in enumerate(f, 1):
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


def _read_txt(f: IO[str]) -> Iterator[Record]:
    index = 0
    for line_no, line in enumerate(f, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        yield mark_bad_text(Record(index, line_no, str(line_no), text, None, {"line": line_no}))
        index += 1


def _read_parquet(path: str, text_field: str, id_field: str) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a bad file
        raise InputFormatError(f"cannot read parquet file {path}: {e}") from e
    if text_field not in pf.schema_arrow.names:
        raise InputFormatError(f"no {text_field!r} column in {pf.schema_arrow.names}; choose one with --text-field")
    index = 0
    for batch in pf.iter_batches(batch_size=4096):
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
