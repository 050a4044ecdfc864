import json

import pytest
import torch

from service.core.artifact import load_artifact
from service.core.manifest import MANIFEST_FILE, MODEL_FILE, VOCAB_FILE, sha256_file
from service.core.predictor import Predictor
from training.config import TrainConfig
from training.export import ExportParityError, eager_probs, export
from training.model import SentimentRNN

ITOS = ["<pad>", "<unk>", "good", "bad", "day", "love"]
TEXTS = ["good day :)", "bad bad day", "I love it", "#fail @bob http://x.co", "zzz unknown words"]


def make_model():
    torch.manual_seed(0)
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=64)
    return SentimentRNN(len(ITOS), cfg).eval(), cfg


def export_m(model, cfg, out, metrics):
    """The model as artifact "m" v1, checked against the eager model on TEXTS."""
    return export(model, ITOS, cfg, out, name="m", version="v1", metrics=metrics, data_info={}, parity_texts=TEXTS)


def test_export_writes_verified_artifact_matching_eager(tmp_path):
    model, cfg = make_model()
    out = export_m(model, cfg, tmp_path / "m", {"test": {"avg_recall": 0.5}})
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["files"][MODEL_FILE] == sha256_file(out / MODEL_FILE)
    assert manifest["files"][VOCAB_FILE] == sha256_file(out / VOCAB_FILE)
    assert manifest["labels"] == ["negative", "neutral", "positive"]
    assert manifest["parity"]["max_abs_diff"] <= 1e-5
    served = Predictor(load_artifact(out, "cpu")).predict_proba(TEXTS)
    torch.testing.assert_close(torch.from_numpy(served), eager_probs(model, TEXTS, ITOS, cfg))


def test_export_refuses_when_serving_disagrees_and_writes_nothing(tmp_path, monkeypatch):
    model, cfg = make_model()
    import training.export as ex

    real = ex.eager_probs
    monkeypatch.setattr(ex, "eager_probs", lambda *a: real(*a) + 0.01)  # simulate train/serve skew
    with pytest.raises(ExportParityError, match="differs from eager"):
        export_m(model, cfg, tmp_path / "m", {})
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == []
