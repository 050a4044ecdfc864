"""Finding a training-only data package's files (training/packages.py)."""

import pytest

from training.packages import package_dir


def test_an_installed_data_package_is_found_with_its_files():
    assert (package_dir("wordsegment", "the word table") / "unigrams.txt").is_file()


def test_a_missing_package_names_what_needs_it():
    with pytest.raises(ModuleNotFoundError, match="the GloVe vectors needs the no_such_pkg_x package"):
        package_dir("no_such_pkg_x", "the GloVe vectors")
