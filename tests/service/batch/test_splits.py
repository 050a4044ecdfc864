"""Cutting big input files into pieces (service/batch/splits.py) and reading a piece (readers.read_range): the
pieces, read one by one, give exactly the records of the whole file (index, line numbers, default ids, texts, errors,
fields), whatever the cut size; files that cannot be cut safely stay whole."""

from __future__ import annotations

import gzip
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.batch.readers import InputFormatError, read_range, read_records
from service.batch.splits import list_inputs, scan_inputs


def _as_tuples(records):
    return [(r.index, r.line, r.id, r.text, r.label, r.fields, r.error) for r in records]


def _pieces_records(pieces):
    out = []
    for p in pieces:
        out += read_range(p.path, p.fmt, start=p.start, end=p.end, line0=p.line0, index0=p.index0, header=p.header)
    return out


def _jsonl(tmp_path):
    lines = []
    for i in range(120):
        if i % 17 == 0:
            lines.append("   ")  # blank: not a row
        if i % 29 == 0:
            lines.append("{oops")  # a bad row
        row = {"text": f"tweet number {i} café"} if i % 2 else {"id": f"x{i}", "text": f"tweet {i}", "label": "Pos"}
        lines.append(json.dumps(row, ensure_ascii=False))
    lines.append('{"id": "last", "text": ""}')
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _tsv(tmp_path):
    rows = ["id\ttext\tlabel"]
    for i in range(150):
        rows.append(f"{'' if i % 3 else i}\ttext {i}\tneutral")
        if i % 40 == 0:
            rows.append("\t \t")  # a blank row
        if i % 55 == 0:
            rows.append(f"{i}\ttoo\tmany\tfields")
    p = tmp_path / "in.tsv"
    p.write_text("\n".join(rows), encoding="utf-8")  # no final newline
    return p


def _semeval(tmp_path):
    rows = [f"{i}\tpositive\tsemeval text {i}" if i % 11 else f"{i}\tnope\ttext" for i in range(100)]
    p = tmp_path / "in.tsv"
    p.write_text("\n".join(rows[:50]) + "\n\n" + "\n".join(rows[50:]) + "\n", encoding="utf-8")
    return p


def _txt(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("".join(f"line {i}\n" if i % 9 else "\n" for i in range(300)), encoding="utf-8")
    return p


@pytest.mark.parametrize("make", [_jsonl, _tsv, _semeval, _txt], ids=["jsonl", "tsv", "semeval", "txt"])
@pytest.mark.parametrize("split", [64, 200, 1000])
def test_pieces_read_back_exactly_the_whole_file(tmp_path, make, split):
    path = make(tmp_path)
    whole = list(read_records(str(path)))
    fp, pieces = scan_inputs([str(path)], None, split)
    assert len(pieces) > 1  # really cut
    assert [p.name for p in pieces] == sorted(p.name for p in pieces)  # names follow input order
    assert pieces[0].start == 0 and pieces[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    assert _as_tuples(_pieces_records(pieces)) == _as_tuples(whole)
    assert fp["size"] == path.stat().st_size and len(fp["sha256"]) == 64


def test_parquet_is_cut_at_row_groups(tmp_path):
    rows = [{"id": None if i % 4 else f"r{i}", "text": f"t {i}" if i % 13 else None} for i in range(1000)]
    p = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), p, row_group_size=100)
    _, pieces = scan_inputs([str(p)], None, 1)
    assert [(x.start, x.end) for x in pieces] == [(g, g + 1) for g in range(10)]
    assert _as_tuples(_pieces_records(pieces)) == _as_tuples(read_records(str(p)))


@pytest.mark.parametrize("name", ["in.csv", "in.jsonl.gz", "cr.jsonl"])
def test_files_that_cannot_be_cut_safely_stay_whole(tmp_path, name):
    body = "".join(json.dumps({"id": i, "text": f"t {i}"}) + "\n" for i in range(200))
    p = tmp_path / name
    if name.endswith(".csv"):  # a quoted field may hold a newline
        p.write_text("id,text\n" + "".join(f'{i},"multi\nline {i}"\n' for i in range(200)))
    elif name.endswith(".gz"):
        p.write_bytes(gzip.compress(body.encode()))
    else:  # a lone \r ends a line for the readers, not for a byte scan
        p.write_text(body.replace("\n", "\r", 3), newline="")
    _, pieces = scan_inputs([str(p)], None, 64)
    assert len(pieces) == 1 and pieces[0].end is None
    assert _as_tuples(_pieces_records(pieces)) == _as_tuples(read_records(str(p)))


def test_a_directory_is_its_data_files_in_name_order(tmp_path):
    for name in ["b.csv", "a.jsonl", "_SUCCESS", ".hidden.jsonl", "notes.md", "c.tsv.gz"]:
        (tmp_path / name).write_text("x")
    assert [p.rsplit("/", 1)[-1] for p in list_inputs(str(tmp_path))] == ["a.jsonl", "b.csv", "c.tsv.gz"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("x")
    with pytest.raises(InputFormatError, match="no input files"):
        list_inputs(str(tmp_path / "empty"))
    with pytest.raises(InputFormatError, match="input not found"):
        list_inputs(str(tmp_path / "missing"))


def test_one_fingerprint_for_several_files_changes_with_any_of_them(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"text": "one"}\n')
    b.write_text('{"text": "two"}\n')
    before, pieces = scan_inputs([str(a), str(b)], None, 1 << 20)
    assert [p.file_no for p in pieces] == [0, 1]
    b.write_text('{"text": "tw0"}\n')
    after, _ = scan_inputs([str(a), str(b)], None, 1 << 20)
    assert before["sha256"] != after["sha256"] and before["size"] == after["size"]
