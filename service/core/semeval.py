"""The labelled data's format: SemEval-2017 Task 4A TSV (``id<TAB>label<TAB>text``, no header).

Read by training (the pool), evaluation and the batch readers alike. Quirks handled (see
../shared/data/semeval2017-task4a/README.md): trailing empty fields, texts wrapped in double quotes (sometimes
unmatched), JSON-style escapes (``\\u2019``), no final newline, CRLF line ends, blank lines. A malformed line is not
raised: it comes out as a `Record` with `error` set and its line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from service.core.labels import LABELS
from service.core.records import Record, mark_bad_text
from service.core.textfile import open_text

_JSON_ESCAPE_RE = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")


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


def looks_like_semeval(first_line: str) -> bool:
    """A first line of ``id<TAB>label<TAB>text`` with a known label (a TSV without a header row)."""
    parts = first_line.rstrip("\r\n").split("\t")
    return len(parts) >= 3 and parts[1].strip().lower() in LABELS


def parse_semeval(lines: Iterable[str], start_line: int = 1, first_index: int = 0) -> Iterator[Record]:
    """Records of SemEval lines (label lower-cased; the ``id`` and ``label`` columns also in ``fields``); `start_line`
    and `first_index` number a part of a file as the whole file does."""
    i = first_index - 1  # data-row index: blank lines are not rows
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
            i, line_no, parts[0].strip(), clean_semeval_text(text), label, {"id": parts[0].strip(), "label": label}
        )
        if label not in LABELS:
            rec.error = f"line {line_no}: label {parts[1]!r} is not one of {', '.join(LABELS)}"
        yield mark_bad_text(rec)


def read_semeval(path: str | Path) -> Iterator[Record]:
    """The records of one SemEval file (plain or ``.gz``)."""
    with open_text(path) as f:
        yield from parse_semeval(f)


def folder_texts(folder: str | Path) -> list[str]:
    """The text of every valid row of the SemEval ``*.tsv`` files in `folder`, files in name order ([] when the
    folder has none): the tweets the benchmarks and load tests send."""
    return [r.text for f in sorted(Path(folder).glob("*.tsv")) for r in read_semeval(f) if not r.bad and r.text]
