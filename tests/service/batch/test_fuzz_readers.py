"""Property tests: the file readers turn any bytes into Records or one InputFormatError, never anything else.

Every yielded record either carries an error with its line number or has a clean, non-blank str text, and record
indexes run 0..n-1 (so nothing is silently dropped or duplicated)."""

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.batch.readers import InputFormatError, read_records

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
LINE_BYTES = st.one_of(
    st.binary(max_size=80),
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b'{"id": 1, "text": "ok"}',
            b'{"text": null}',
            b"[1,2]",
            b'"\xff"',
            b'1\tpositive\t"q',
            b'a,"b',
            b"\t\t",
            b"\xef\xbb\xbf",
        ]
    ),
)
FILES = st.lists(LINE_BYTES, max_size=12).map(lambda lines: b"\n".join(lines))


def _check(records):
    indexes = [r.index for r in records]
    assert indexes == sorted(set(indexes))  # unique and in order
    for rec in records:
        if rec.error is None:
            assert isinstance(rec.text, str) and rec.text.strip()
            assert not any(0xDC80 <= ord(c) <= 0xDCFF for c in rec.text)  # undecodable bytes are errors
        else:
            assert "line" in rec.error


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".txt", ".jsonl.gz", ".tsv.gz"])
def test_readers_survive_arbitrary_bytes(tmp_path_factory, suffix):
    d = tmp_path_factory.mktemp("fuzz")

    @FUZZ
    @given(FILES)
    def run(data):
        path = d / f"in{suffix}"
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
        try:
            records = list(read_records(str(path)))
        except InputFormatError as e:
            assert str(e)
            return
        _check(records)

    run()


def test_jsonl_bad_texts_are_row_errors(tmp_path):
    rows = [{"id": i, "text": t} for i, t in enumerate(["ok", None, 5, "", "   ", "fine"])]
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"\n".join(json.dumps(r).encode() for r in rows))
    recs = list(read_records(str(p)))
    assert [r.error is None for r in recs] == [True, False, False, False, False, True]
    assert all("line" in r.error for r in recs if r.error)


def test_jsonl_lone_surrogate_escape_is_a_row_error(tmp_path):
    rows = [{"id": 0, "text": "ok"}, {"id": 1, "text": "\ud800x"}]
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"\n".join(json.dumps(r).encode() for r in rows))
    recs = list(read_records(str(p)))
    assert [r.error is None for r in recs] == [True, False]


def test_parquet_reader_refuses_garbage_with_one_clear_error(tmp_path):
    @FUZZ
    @given(st.binary(max_size=400))
    def run(data):
        p = tmp_path / "x.parquet"
        p.write_bytes(data)
        with pytest.raises(InputFormatError, match="cannot read parquet"):
            list(read_records(str(p)))

    run()


def test_semeval_indexes_are_contiguous_across_blank_lines(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("1\tpositive\tgood\n\n2\tnegative\tbad\n")
    assert [r.index for r in read_records(str(p))] == [0, 1]
