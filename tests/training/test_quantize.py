"""The int8 variant: built by `sentiment train` / `sentiment quantize`, measured, batch-invariant, verified on load,
refused where it cannot run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from service.core.artifact import load_artifact
from service.core.manifest import INT8_FILE, INT8_RECORD, MANIFEST_FILE, ModelLoadError
from service.core.paths import REPO
from service.core.predictor import Predictor
from tests.service.api.test_app import make_texts
from training.quantize import add_int8_variant, eager_from_artifact


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model, tmp_path / "m"))


def test_training_records_a_measured_int8_variant_beside_an_unchanged_manifest(tiny_model: Path):
    manifest = json.loads((tiny_model / MANIFEST_FILE).read_text())
    assert INT8_FILE not in manifest["files"] and "int8" not in manifest.get("variants", {})  # derived, not listed
    v = json.loads((tiny_model / INT8_RECORD).read_text())
    assert v["file"] == INT8_FILE and v["default"] is False
    assert v["model"] == {"model.pt": manifest["files"]["model.pt"], "vocab.json": manifest["files"]["vocab.json"]}
    for key in ("fp32_avg_recall", "avg_recall", "avg_recall_delta", "label_agreement", "max_batch_dependence"):
        assert isinstance(v[key], float | int), key
    assert v["avg_recall_delta"] == pytest.approx(v["avg_recall"] - v["fp32_avg_recall"], abs=2e-4)


def test_int8_is_opt_in_and_close_to_fp32(tiny_model: Path):
    assert load_artifact(tiny_model, "cpu").precision == "fp32"
    texts = make_texts(100, seed=4)
    fp32 = Predictor(load_artifact(tiny_model, "cpu", precision="fp32")).predict_proba(texts)
    int8 = Predictor(load_artifact(tiny_model, "cpu", precision="int8")).predict_proba(texts)
    assert int8.shape == fp32.shape and np.allclose(int8.sum(1), 1, atol=1e-4)
    assert np.abs(int8 - fp32).max() < 0.05
    assert np.abs(int8 - fp32).max() > 0  # the weights really are quantized


def test_int8_scores_do_not_depend_on_the_batch(tiny_model: Path):
    """Plain dynamic quantization scales activations by each batch's range (scores moved ~0.007 with the other
    texts of a batch); the pinned ranges make a text's int8 scores the same alone, in any batch, in any order."""
    predictor = Predictor(load_artifact(tiny_model, "cpu", precision="int8"))
    texts = make_texts(120, seed=9)
    together = predictor.predict_proba(texts)  # (N, C)
    alone = np.concatenate([predictor.predict_proba([t]) for t in texts[:40]])
    shuffled = predictor.predict_proba(texts[::-1])[::-1]
    mixed = predictor.predict_proba(texts[:40] + make_texts(50, seed=10, max_words=60))[:40]
    assert np.abs(together[:40] - alone).max() <= 1e-6
    assert np.abs(together - shuffled).max() <= 1e-6
    assert np.abs(together[:40] - mixed).max() <= 1e-6


def test_eager_model_rebuilt_from_the_archive_matches_it(tiny_model: Path):
    model = eager_from_artifact(tiny_model)
    artifact = load_artifact(tiny_model, "cpu")
    w, s, n = torch.tensor([[5, 6, 7]]), torch.tensor([[[1, 2], [3, 0], [4, 0]]]), torch.tensor([3])
    with torch.no_grad():
        assert torch.allclose(model(w, s, n), artifact.module(w, s, n), atol=1e-6)


def test_requantizing_replaces_the_variant(model_copy: Path):
    old = json.loads((model_copy / INT8_RECORD).read_text())
    model = eager_from_artifact(model_copy)
    v = add_int8_variant(model_copy, model, make_texts(30, seed=1), [0, 1, 2] * 10, make_texts(40, seed=2))
    assert json.loads((model_copy / INT8_RECORD).read_text()) == v and v["created_at"] >= old["created_at"]
    assert load_artifact(model_copy, "cpu", precision="int8").weights_sha256 == v["sha256"]


def test_sentiment_quantize_builds_the_variant_of_a_model_dir(model_copy: Path):
    (model_copy / INT8_FILE).unlink()
    (model_copy / INT8_RECORD).unlink()
    with pytest.raises(ModelLoadError, match=r"no int8 variant; build it once with `sentiment quantize"):
        load_artifact(model_copy, "cpu", precision="int8")
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "quantize", str(model_copy)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["max_batch_dependence"] <= 1e-6
    assert load_artifact(model_copy, "cpu", precision="int8").precision == "int8"


def test_tampered_or_foreign_int8_files_and_impossible_requests_are_refused(model_copy: Path, tmp_path: Path):
    with pytest.raises(ModelLoadError, match="precision must be one of fp32, int8"):
        load_artifact(model_copy, "cpu", precision="fp16")
    data = bytearray((model_copy / INT8_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model_copy / INT8_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256 mismatch for .*model-int8.pt"):
        load_artifact(model_copy, "cpu", precision="int8")
    record = json.loads((model_copy / INT8_RECORD).read_text())
    record["model"]["model.pt"] = "0" * 64  # a record left over from another model
    (model_copy / INT8_RECORD).write_text(json.dumps(record))
    with pytest.raises(ModelLoadError, match="built from another model"):
        load_artifact(model_copy, "cpu", precision="int8")
    (model_copy / INT8_RECORD).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not a valid variant record"):
        load_artifact(model_copy, "cpu", precision="int8")
    (model_copy / INT8_RECORD).unlink()
    assert load_artifact(model_copy, "cpu").precision == "fp32"  # fp32 does not need the variant
    with pytest.raises(ModelLoadError, match="no int8 variant"):
        load_artifact(model_copy, "cpu", precision="int8")


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_a_single_network_exported_before_ensembles_is_rebuilt_as_one(tmp_path: Path):
    """Manifests written before --members / --fp16-embeddings existed lack those keys: the eager model must be the
    single float32 network they describe, not today's default ensemble."""
    from tests.conftest import train_tiny
    from training.model import SentimentRNN

    old = train_tiny(tmp_path, "old", ["--members", "1", "--ema-decay", "0", "--fp16-embeddings", "false"])
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    for key in ("members", "ema_decay", "adv_eps", "distill", "fp16_embeddings"):
        del manifest["config"][key]
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))  # the manifest's hashes cover the weights, not itself
    model = eager_from_artifact(old)
    assert isinstance(model, SentimentRNN) and model.embedding.weight.dtype == torch.float32
    artifact = load_artifact(old, "cpu")
    w, s, n = torch.tensor([[5, 6, 7]]), torch.tensor([[[1, 2], [3, 0], [4, 0]]]), torch.tensor([3])
    with torch.no_grad():
        assert torch.equal(model(w, s, n), artifact.module(w, s, n))
