"""The labelled data format on real files: quirks, bad lines as records, .gz, and the folder's texts."""

import gzip

from service.core.semeval import (
    clean_semeval_text,
    decode_json_escapes,
    folder_texts,
    looks_like_semeval,
    parse_semeval,
    read_semeval,
)


def test_json_escapes_and_surrogate_pairs_become_characters():
    assert decode_json_escapes(r"it\u2019s \ud83d\ude00 ok") == "it’s 😀 ok"


def test_wrapping_quotes_and_doubled_quotes_are_undone():
    assert clean_semeval_text('"he said ""hi"""') == 'he said "hi"'
    assert clean_semeval_text('"unmatched') == '"unmatched'


def test_a_semeval_first_line_has_a_known_label():
    assert looks_like_semeval("123\tpositive\tgreat\r\n")
    assert not looks_like_semeval("id\tlabel\ttext")
    assert not looks_like_semeval("just text")


def test_records_of_good_blank_and_bad_lines():
    lines = ["1\tPositive\tgood day\t\t\r\n", "\n", "2\tneutral\n", "3\tangry\tgrr\n", "4\tnegative\ta\tb\n"]
    lines.append("5\tneutral\t \n")
    recs = list(parse_semeval(lines))
    assert [r.index for r in recs] == [0, 1, 2, 3, 4]  # the blank line is not a row
    assert (recs[0].id, recs[0].label, recs[0].text, recs[0].error) == ("1", "positive", "good day", None)
    assert recs[1].error == "line 3: expected id<TAB>label<TAB>text"
    assert recs[2].error == "line 4: label 'angry' is not one of negative, neutral, positive"
    assert recs[3].text == "a\tb"  # tabs inside the text are kept
    assert recs[4].error == "line 6: text is empty"


def test_plain_and_gzip_files_read_alike(tmp_path):
    body = "10\tnegative\tbad \\u2019news\n11\tpositive\tyay\n"
    (tmp_path / "a.tsv").write_text(body, encoding="utf-8")
    with gzip.open(tmp_path / "a.tsv.gz", "wt", encoding="utf-8") as f:
        f.write(body)
    plain = [(r.id, r.text) for r in read_semeval(tmp_path / "a.tsv")]
    gzipped = [(r.id, r.text) for r in read_semeval(tmp_path / "a.tsv.gz")]
    assert plain == gzipped == [("10", "bad ’news"), ("11", "yay")]


def test_folder_texts_are_the_valid_texts_of_its_tsv_files_in_name_order(tmp_path):
    (tmp_path / "b.tsv").write_text("1\tneutral\tsecond file\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text("1\tneutral\tfirst\n2\tbogus\tskipped\n3\tpositive\t\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("1\tneutral\tnot a tsv\n", encoding="utf-8")
    assert folder_texts(tmp_path) == ["first", "second file"]
    assert folder_texts(tmp_path / "missing") == []
