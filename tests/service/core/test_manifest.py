"""The manifest's schema, read and written on real files (the committed model's and altered copies)."""

import hashlib
import json
import shutil

import pytest

from service.core.manifest import MANIFEST_FILE, Manifest, ModelLoadError, read_manifest, sha256_file
from service.core.paths import DEFAULT_MODEL_DIR


def test_the_committed_manifest_reads(tmp_path):
    m = read_manifest(DEFAULT_MODEL_DIR)
    assert m.labels == ["negative", "neutral", "positive"]
    assert set(m.files) >= {"model.pt", "vocab.json"}
    assert m.format_version == 1 and m.name and m.version


def test_write_then_read_gives_the_same_manifest_and_keeps_unknown_fields(tmp_path):
    data = json.loads((DEFAULT_MODEL_DIR / MANIFEST_FILE).read_text())
    data["a_later_field"] = {"kept": True}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    m = read_manifest(tmp_path)
    out = tmp_path / "again"
    out.mkdir()
    m.write(out)
    again = read_manifest(out)
    assert again == m
    written = json.loads((out / MANIFEST_FILE).read_text())
    assert written["a_later_field"] == {"kept": True}
    assert "variants" not in written  # the legacy field only when set


def test_a_missing_or_invalid_manifest_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no manifest.json in"):
        read_manifest(tmp_path)
    shutil.copy(DEFAULT_MODEL_DIR / MANIFEST_FILE, tmp_path / MANIFEST_FILE)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["labels"] = ["only-one"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match=r"not a valid manifest: \('labels',\)"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not a valid manifest"):
        read_manifest(tmp_path)


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00tweet" * 300_000)  # more than one read chunk (1 MiB)
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    assert sha256_file(DEFAULT_MODEL_DIR / "vocab.json") == read_manifest(DEFAULT_MODEL_DIR).files["vocab.json"]


def test_a_manifest_needs_two_labels():
    with pytest.raises(ValueError):
        Manifest.model_validate(
            {"format_version": 1, "name": "n", "version": "v", "labels": ["x"], "tokenizer_version": "t",
             "features": {}, "files": {}, "created_at": "now", "torch_version": "2"}
        )  # fmt: skip
