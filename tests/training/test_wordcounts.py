from training.wordcounts import word_counts


def test_word_counts_are_the_most_frequent_words():
    counts = word_counts(1000)
    assert len(counts) == 1000 and next(iter(counts)) == "the"
    values = list(counts.values())
    assert values == sorted(values, reverse=True) and counts["love"] > counts.get("lovemyjob", 0)
