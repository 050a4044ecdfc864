"""The word table of the tokenizer's hashtag and elongation options: the most frequent words of wordsegment's
unigram counts (Peter Norvig's counts from the Google Web Trillion Word Corpus, shipped in the PyPI package
wordsegment, Apache-2.0). Training time only: the table is written into the artifact as words.json and the
serving tokenizer reads it from there.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from training.packages import package_dir


def _unigrams_path() -> Path:
    return package_dir("wordsegment", "the word table") / "unigrams.txt"


@lru_cache(maxsize=4)
def word_counts(n: int) -> dict[str, int]:
    """The n most frequent words with their counts (the file is sorted by count, most frequent first)."""
    out: dict[str, int] = {}
    with open(_unigrams_path(), encoding="utf-8") as f:
        for line in f:
            if len(out) >= n:
                break
            word, _, count = line.rstrip("\n").partition("\t")
            if word and count:
                out[word] = int(count)
    return out
