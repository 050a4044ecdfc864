"""The one meaning of a bad row, and the text checks every reader applies."""

import math

import pytest

from service.core.records import Record, mark_bad_text, partition, row_error


@pytest.mark.parametrize("value", [None, "", math.nan, 0])
def test_only_a_non_empty_string_is_an_error(value):
    assert row_error(value) is None


def test_an_error_message_is_an_error():
    assert row_error("line 3: text is empty") == "line 3: text is empty"


def test_partition_keeps_the_input_order_of_each_side():
    recs = [Record(i, i + 1, str(i), "t", error="bad" if i % 2 else None) for i in range(6)]
    good, bad = partition(recs)
    assert [r.index for r in good] == [0, 2, 4] and [r.index for r in bad] == [1, 3, 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "line 7: missing text"),
        (42, "line 7: text is int, expected a string"),
        ("caf\udce9", "line 7: text is not valid UTF-8"),
        ("\ud800 lone", "line 7: text is not valid UTF-8"),
        (" \t\n", "line 7: text is empty"),
    ],
)
def test_bad_texts_are_marked_with_their_line(text, message):
    rec = mark_bad_text(Record(0, 7, "a", text))
    assert rec.bad and rec.error.startswith(message)


def test_a_good_text_stays_good_and_an_earlier_error_is_kept():
    assert not mark_bad_text(Record(0, 1, "a", "café ☕")).bad
    rec = mark_bad_text(Record(0, 1, "a", None, error="line 1: expected id<TAB>label<TAB>text"))
    assert rec.error == "line 1: expected id<TAB>label<TAB>text"
