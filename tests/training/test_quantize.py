"""The int8 variant: written by `sentiment train`, measured, verified on load, refused where it cannot run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from service.artifact import INT8_FILE, MANIFEST_FILE, ModelLoadError, load_artifact
from service.predictor import Predictor
from tests.service.test_app import make_texts
from training.quantize import add_int8_variant, eager_from_artifact


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model, tmp_path / "m"))


def test_training_records_a_measured_int8_variant(tiny_model: Path):
    manifest = json.loads((tiny_model / MANIFEST_FILE).read_text())
    v = manifest["variants"]["int8"]
    assert v["file"] == INT8_FILE and INT8_FILE in manifest["files"] and v["default"] is False
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


def test_eager_model_rebuilt_from_the_archive_matches_it(tiny_model: Path):
    model = eager_from_artifact(tiny_model)
    artifact = load_artifact(tiny_model, "cpu")
    w, s, n = torch.tensor([[5, 6, 7]]), torch.tensor([[[1, 2], [3, 0], [4, 0]]]), torch.tensor([3])
    with torch.no_grad():
        assert torch.allclose(model(w, s, n), artifact.module(w, s, n), atol=1e-6)


def test_requantizing_replaces_the_variant(model_copy: Path):
    model = eager_from_artifact(model_copy)
    v = add_int8_variant(model_copy, model, make_texts(30, seed=1), [0, 1, 2] * 10)
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text())
    assert manifest["variants"]["int8"] == v
    assert load_artifact(model_copy, "cpu", precision="int8").precision == "int8"


def test_tampered_int8_file_and_impossible_requests_are_refused(model_copy: Path):
    with pytest.raises(ModelLoadError, match="precision must be one of fp32, int8"):
        load_artifact(model_copy, "cpu", precision="fp16")
    data = bytearray((model_copy / INT8_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model_copy / INT8_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256 mismatch for .*model-int8.pt"):
        load_artifact(model_copy, "cpu", precision="int8")
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text())
    del manifest["variants"], manifest["files"][INT8_FILE]
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    (model_copy / INT8_FILE).unlink()
    assert load_artifact(model_copy, "cpu").precision == "fp32"  # fp32 does not need the variant
    with pytest.raises(ModelLoadError, match="no int8 variant"):
        load_artifact(model_copy, "cpu", precision="int8")


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
