"""The checkout's paths, defined once."""

from service.core import manifest, paths


def test_the_paths_point_into_this_checkout():
    assert (paths.REPO / "service" / "core" / "paths.py").is_file()
    assert (paths.DEFAULT_MODEL_DIR / "manifest.json").is_file()
    assert manifest.DEFAULT_MODEL_DIR == paths.DEFAULT_MODEL_DIR
    assert paths.DATA_DIR.name == "semeval2017-task4a" and paths.DATA_DIR.parent.parent.name == "shared"
