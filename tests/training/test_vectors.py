import numpy as np

from training.vectors import VECTOR_DIM, frequent_words, glove, glove_row, oov_rate, vector_table


def test_glove_rows_for_our_tokens():
    words, index, matrix = glove()
    assert len(words) == 400_000 and matrix.shape == (400_000, VECTOR_DIM)
    table, hits = vector_table(["<pad>", "<unk>", "good", "dont", "won't", "qqzxqq"])
    assert table.shape == (6, VECTOR_DIM) and hits == 3
    assert (table[:2] == 0).all() and (table[5] == 0).all()
    np.testing.assert_allclose(table[2], matrix[index["good"]])
    assert glove_row("don't", index) is not None  # without the apostrophe or before "n't"


def test_frequent_words_are_word_tokens_in_frequency_order():
    top = frequent_words(50)
    assert len(top) == 50 and top[0] == "the" and all(w[0].isalpha() for w in top)


def test_oov_rate_skips_special_tokens():
    assert oov_rate([["a", "b", "<url>"], ["c"]], {"a": 1}, frozenset({"<url>"})) == 2 / 3
