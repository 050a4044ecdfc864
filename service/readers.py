"""Streaming readers for the input formats: SemEval TSV, TSV/CSV with header, JSONL, TXT, Parquet (+ .gz).

Every reader yields `Record`s one at a time (constant memory). A malformed row is not raised and not dropped:
it comes out as a Record with `error` set and its line number, so the caller can skip it into a rejects file or
stop the job. Bytes that are not UTF-8 are kept through ``surrogateescape`` and reported as errors.

SemEval quirks handled (see ../shared/data/semeval2017-task4a/README.md): ``id<TAB>label<TAB>text`` without a
header, trailing empty fields, texts wrapped in double quotes (sometimes unmatched), JSON-style escapes
(``\\u2019``), no final newline.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LABELS = ("negative", "neutral", "positive")
FORMATS = ("semeval", "tsv", "csv", "jsonl", "txt", "parquet")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # undecodable bytes (surrogateescape) or a lone \\ud800 escape
_JSON_ESCAPE_RE = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")


class InputFormatError(ValueError):
    """The input as a whole cannot be read (unknown format, missing column, unreadable file)."""


def row_error(value: object) -> str | None:
    """The one meaning of "bad row", shared by every engine (local, Ray, via the API): a row is bad exactly when its
    error is a non-empty string. Every other value means a good row: None, and also the NaN float that Arrow and NumPy
    hand back for an all-null column (a Ray block without bad rows), pandas' NA or an empty string."""
    return value if isinstance(value, str) and value else None


@dataclass
class Record:
    index: int  # 0-based position among the data rows
    line: int  # 1-based line (row number for parquet), for messages
    id: str
    text: str | None
    label: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # all input fields, passed through to outputs
    error: str | None = None

    @property
    def bad(self) -> bool:
        return row_error(self.error) is not None


def partition(records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    """(good, bad) records, each in input order (the meaning of bad: `row_error`)."""
    good: list[Record] = []
    bad: list[Record] = []
    for r in records:
        (bad if r.bad else good).append(r)
    return good, bad


def decode_json_escapes(text: str) -> str:
    r"""Turn literal ``\u2019``-style escapes (including surrogate pairs) into the real characters."""

    def _sub(m: re.Match[str]) -> str:
        units = [int(h, 16) for h in m.group().split("\\u")[1:]]
        raw = b"".join(u.to_bytes(2, "big") for u in units)
        return raw.decode("utf-16-be", errors="replace")

    return _JSON_ESCAPE_RE.sub(_sub, text)


def clean_semeval_text(text: str) -> str:
    """Undo the SemEval file quirks: JSON escapes and wrapping double quotes."""
    text = decode_json_escapes(text)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    return text


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
    p = Path(path)
    if not p.is_file():
        raise InputFormatError(f"input file not found: {path}")
    raw: IO[bytes] = gzip.open(p, "rb") if path.lower().endswith(".gz") else open(p, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")


def _check_text(rec: Record) -> Record:
    if rec.error:
        return rec
    if rec.text is None:
        rec.error = f"line {rec.line}: missing text"
    elif not isinstance(rec.text, str):
        rec.error = f"line {rec.line}: text is {type(rec.text).__name__}, expected a string"
    elif _SURROGATE_RE.search(rec.text):
        rec.error = f"line {rec.line}: text is not valid UTF-8 (undecodable bytes or a lone surrogate escape)"
    elif not rec.text.strip():
        rec.error = f"line {rec.line}: text is empty"
    return rec


def _looks_like_semeval(first_line: str) -> bool:
    parts = first_line.rstrip("\r\n").split("\t")
    return len(parts) >= 3 and parts[1].strip().lower() in LABELS


def _read_semeval(lines: Iterator[str], start_line: int = 1) -> Iterator[Record]:
    i = -1  # data-row index: blank lines are not rows
    for offset, raw in enumerate(lines):
        line_no = start_line + offset
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        i += 1
        parts = line.split("\t")
        if len(parts) < 3:
            yield Record(i, line_no, str(line_no), None, error=f"line {line_no}: expected id<TAB>label<TAB>text")
            continue
        text = "\t".join(parts[2:]).rstrip("\t")
        label = parts[1].strip().lower()
        rec = Record(
            i,
            line_no,
            parts[0].strip(),
            clean_semeval_text(text),
            label,
            {"id": parts[0].strip(), "label": label},
        )
        if label not in LABELS:
            rec.error = f"line {line_no}: label {parts[1]!r} is not one of {', '.join(LABELS)}"
        yield _check_text(rec)


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
        yield _check_text(rec)
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
        yield _check_text(rec)
        index += 1


def _read_txt(f: IO[str]) -> Iterator[Record]:
    index = 0
    for line_no, line in enumerate(f, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        yield _check_text(Record(index, line_no, str(line_no), text, None, {"line": line_no}))
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
            yield _check_text(rec)
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
            if fmt == "semeval" or _looks_like_semeval(first):
                yield from _read_semeval(_chain(first, f))
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
