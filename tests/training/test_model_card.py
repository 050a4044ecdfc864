import json

from training.model_card import build_card


def test_model_card_from_a_real_model(tiny_model, tmp_path):
    card = build_card(tiny_model, tmp_path)
    text = card.read_text()
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert f"{manifest['metrics']['test']['avg_recall']:.4f}" in text
    for section in ("## Data and split", "## Calibration", "## Known failure modes", "## Intended use and limits"):
        assert section in text
    assert "Sarcasm" in text and "Negation" in text
    for png in ("model-card-curves.png", "model-card-confusion.png", "model-card-calibration.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
