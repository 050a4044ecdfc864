import gzip
import json

import pytest

from service.batch.readers import InputFormatError, read_records
from service.core.semeval import clean_semeval_text, decode_json_escapes


def write(path, text, mode="w"):
    with open(path, mode, encoding="utf-8", newline="") as f:
        f.write(text)
    return str(path)


def test_semeval_quirks(tmp_path):
    # trailing empty field, wrapped quotes, JSON escapes, unmatched quote, no final newline
    p = write(
        tmp_path / "a.tsv",
        '1\tpositive\t"Great ""show"" tonight"\t\n'
        "2\tnegative\tcan\\u2019t stand it\\u002c really\n"
        '3\tneutral\t"unclosed quote here\n'
        "4\tneutral\tlast line",
    )
    recs = list(read_records(p))
    assert [r.id for r in recs] == ["1", "2", "3", "4"]
    assert recs[0].text == 'Great "show" tonight'
    assert recs[1].text == "can’t stand it, really"
    assert recs[2].text == '"unclosed quote here'
    assert recs[3].text == "last line" and recs[3].label == "neutral"
    assert all(r.error is None for r in recs)


def test_semeval_bad_label_and_missing_text_are_reported_with_line(tmp_path):
    p = write(tmp_path / "a.tsv", "1\tpositive\tok\n2\thappy\tbad label\n3\tneutral\t   \n")
    recs = list(read_records(p, fmt="semeval"))
    assert recs[0].error is None
    assert "line 2" in recs[1].error and "happy" in recs[1].error
    assert "line 3" in recs[2].error and "empty" in recs[2].error


def test_surrogate_pairs_in_json_escapes():
    assert decode_json_escapes("smile \\ud83d\\ude02!") == "smile 😂!"
    assert clean_semeval_text('"a"') == "a"


def test_csv_with_configurable_text_column(tmp_path):
    p = write(tmp_path / "a.csv", 'id,tweet,extra\n7,"hello, world",x\n8,"multi\nline",y\n')
    recs = list(read_records(p, text_field="tweet"))
    assert [(r.id, r.text, r.fields["extra"]) for r in recs] == [
        ("7", "hello, world", "x"),
        ("8", "multi\nline", "y"),
    ]
    with pytest.raises(InputFormatError, match="no 'text' column"):
        list(read_records(p))


def test_jsonl_invalid_line_is_a_record_error_not_an_exception(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": 1, "text": "fine"}\n{broken\n[1,2]\n{"id": 4}\n')
    recs = list(read_records(p))
    assert recs[0].error is None and recs[0].id == "1"
    assert "line 2" in recs[1].error and "invalid JSON" in recs[1].error
    assert "line 3" in recs[2].error
    assert "line 4" in recs[3].error and "missing text" in recs[3].error


def test_gzip_and_txt(tmp_path):
    p = tmp_path / "a.txt.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write("first tweet\n\nsecond tweet\n")
    recs = list(read_records(str(p)))
    assert [(r.id, r.text) for r in recs] == [("1", "first tweet"), ("3", "second tweet")]


def test_undecodable_bytes_reported(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"text": "ok"}\n' + json.dumps({"text": "x"}).encode()[:-2] + b'\xff"}\n')
    recs = list(read_records(str(p)))
    assert recs[0].error is None
    assert recs[1].error and "UTF-8" in recs[1].error


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        list(read_records(write(tmp_path / "a.xlsx", "x")))
    for missing in ("missing.jsonl", "missing.xlsx"):  # a missing file is reported as missing, whatever its name
        with pytest.raises(InputFormatError, match=f"input file not found: .*{missing}"):
            list(read_records(str(tmp_path / missing)))


def test_tsv_with_header_crlf_and_bom_csv(tmp_path):
    p = write(tmp_path / "h.tsv", "id\ttext\tlang\r\n1\thello there\ten\r\n2\tbye\tfr\r\n")
    recs = list(read_records(p))
    assert [(r.id, r.text, r.fields["lang"]) for r in recs] == [("1", "hello there", "en"), ("2", "bye", "fr")]
    p = write(tmp_path / "b.csv", "\ufeffid,text\r\n9,with bom\r\n")
    (rec,) = list(read_records(p))
    assert (rec.id, rec.text, rec.error) == ("9", "with bom", None)


def test_semeval_crlf_and_label_column_kept(tmp_path):
    p = write(tmp_path / "s.tsv", "5\tNegative\tso bad\r\n6\tpositive\tso good\r\n")
    recs = list(read_records(p))
    assert [(r.id, r.label, r.text, r.fields["label"]) for r in recs] == [
        ("5", "negative", "so bad", "negative"),
        ("6", "positive", "so good", "positive"),
    ]


def test_parquet_rows_keep_their_types_and_missing_text_is_reported(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": [1, 2], "text": ["ok", None], "n": [1.5, 2.5]}), p)
    recs = list(read_records(str(p)))
    assert recs[0].fields == {"id": 1, "text": "ok", "n": 1.5} and recs[0].error is None
    assert "row 2" in recs[1].error or "line 2" in recs[1].error


def test_unknown_extension_is_a_clear_error(tmp_path):
    p = write(tmp_path / "a.xlsx", "x")
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        list(read_records(p))


@pytest.mark.parametrize("value", [None, float("nan"), "", pytest.param("np.nan", id="numpy-nan")])
def test_a_null_error_of_any_representation_is_a_good_row(value):
    """Ray hands an all-null error column back as NaN floats: every null form means "no error"."""
    import numpy as np

    from service.core.records import Record, partition, row_error

    value = np.float64("nan") if value == "np.nan" else value
    assert row_error(value) is None
    good, bad = partition([Record(0, 1, "a", "text", error=value), Record(1, 2, "b", None, error="line 2: missing")])
    assert [r.id for r in good] == ["a"] and [r.id for r in bad] == ["b"]


def test_stdin_is_read_as_json_lines_by_default():
    from service.batch.readers import resolve_format

    assert resolve_format("-") == "jsonl" and resolve_format("-", "txt") == "txt"
    with pytest.raises(InputFormatError, match="unknown format 'xml'"):
        resolve_format("-", "xml")
