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


def test_final_model_card_shows_the_estimate_the_training_data_and_the_behaviour(final_tiny_model, tmp_path):
    from training.card_final import build_final_card

    before = tmp_path / "before.json"
    manifest = json.loads((final_tiny_model / "manifest.json").read_text())
    m = manifest["metrics"]
    before.write_text(json.dumps({"results": m["behaviour"], "emoticon_swap": m["emoticon_swap"]}))
    text = build_final_card(final_tiny_model, tmp_path, before, "model-card-temporal.md").read_text()
    assert f"{m['crossfit']['calibrated']['avg_recall']:.4f}" in text
    assert f"{m['trained_on']['tweets']:,}" in text and "failure rate before" in text
    for section in ("## What it was trained on", "## Held-out estimate", "## Behaviour", "## External data"):
        assert section in text
    assert "emoji 2.15.0" in text and "Unicode License" in text
