"""Add a dynamically quantized int8 variant (``model-int8.pt``) to an exported model directory.

    python -m training.quantize models/default      # on demand (`sentiment train --int8` does it after export)

``torch.ao.quantization.quantize_dynamic`` turns the LSTM and linear layers' weights into int8 (activations
are quantized on the fly, per batch); the embeddings stay fp32. It must run on the eager ``nn.Module``
before scripting (on a ScriptModule it is a no-op), so the eager model is rebuilt from the exported
TorchScript archive's weights and the manifest's config: no pickles, no training checkpoint needed.

The variant is measured before it is recorded, through the serving path (service.artifact + predictor) on the
test part of the model's own split protocol: AvgRec of fp32 and int8, label agreement, the largest probability
difference, and how much a text's scores move when the other texts of its batch change (activations are
quantized per batch). The manifest's ``variants.int8`` keeps these figures. fp32 stays the default everywhere:
the AvgRec change is negligible, but int8 answers depend slightly on batch composition (see docs/benchmarks.md);
serve it with ``sentiment serve --precision int8``. int8 kernels (fbgemm) are CPU-only.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from service.artifact import (
    INT8_FILE,
    MANIFEST_FILE,
    VOCAB_BINDING,
    VOCAB_FILE,
    ModelLoadError,
    load_artifact,
    sha256_file,
)
from service.metrics import evaluate_predictions
from service.predictor import Predictor
from training.config import DEFAULT_DATA_DIR, config_from_saved
from training.model import Ensemble, SentimentRNN, build_model, compact_embeddings


def quantize(model: nn.Module) -> nn.Module:
    """int8 weights for the LSTM/GRU and linear layers (dynamic activation quantization), CPU only."""
    return torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model).cpu().eval(), {nn.LSTM, nn.GRU, nn.Linear}, dtype=torch.qint8
    )


def eager_from_artifact(model_dir: Path) -> SentimentRNN | Ensemble:
    """The eager model behind an exported directory: TorchScript weights + the manifest's TrainConfig."""
    artifact = load_artifact(model_dir, "cpu")
    cfg = config_from_saved(artifact.manifest.config)
    state = artifact.module.state_dict()
    trained = next(v.shape[0] for k, v in state.items() if k.endswith("embedding.weight") and "sub_" not in k)
    model = build_model(len(artifact.encoder.itos), cfg, num_classes=len(artifact.labels), trained_vocab=trained)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # parts added after a model was exported (zero-initialised branches, the class bias) may be absent
    optional = ("lin_word", "lin_sub", "lin_bigram", "lin_bias", "lex_head", "class_bias", "vectors", "lexicon")
    required_missing = [k for k in missing if not any(part in optional for part in k.split("."))]
    if unexpected or required_missing:
        raise RuntimeError(f"{model_dir}: weights do not fit the config (missing {missing}, unexpected {unexpected})")
    if cfg.fp16_embeddings:  # load_state_dict copied the float16 tables into float32 ones: store them as exported
        compact_embeddings(model)
    return model.eval()


def _avg_recall(probs: np.ndarray, gold: list[int]) -> float:
    return float(evaluate_predictions(gold, probs.argmax(axis=1).tolist())["avg_recall"])


def add_int8_variant(model_dir: Path, model: nn.Module, texts: list[str], gold: list[int]) -> dict[str, Any]:
    """Write ``model-int8.pt`` next to ``model.pt``, measure it on (texts, gold) and record it in the manifest."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"].pop(INT8_FILE, None)  # a variant being replaced is not listed while it is rewritten
    manifest.get("variants", {}).pop("int8", None)
    _write_json(manifest_path, manifest)
    with torch.no_grad():
        scripted = torch.jit.script(quantize(model))
    tmp = model_dir / f".{INT8_FILE}.tmp"
    scripted.save(str(tmp), _extra_files={VOCAB_BINDING: manifest["files"][VOCAB_FILE]})
    os.replace(tmp, model_dir / INT8_FILE)

    fp32 = Predictor(load_artifact(model_dir, "cpu", precision="fp32")).predict_proba(texts)  # (N, C)
    manifest["files"][INT8_FILE] = sha256_file(model_dir / INT8_FILE)
    manifest.setdefault("variants", {})["int8"] = {"file": INT8_FILE}  # provisional: lets the loader find it
    _write_json(manifest_path, manifest)
    int8_predictor = Predictor(load_artifact(model_dir, "cpu", precision="int8"))
    int8 = int8_predictor.predict_proba(texts)  # (N, C)
    fp32_ar, int8_ar = _avg_recall(fp32, gold), _avg_recall(int8, gold)
    delta = int8_ar - fp32_ar
    variant = {
        "file": INT8_FILE,
        "method": (
            "torch.ao.quantization.quantize_dynamic "
            "(qint8 weights of LSTM/GRU and Linear; embedding tables as exported)"
        ),
        "device": "cpu",
        "measured_on": f"the test part of the training split ({len(texts)} texts)",
        "fp32_avg_recall": round(fp32_ar, 4),
        "avg_recall": round(int8_ar, 4),
        "avg_recall_delta": round(delta, 4),
        "label_agreement": round(float((fp32.argmax(1) == int8.argmax(1)).mean()), 4),
        "max_abs_prob_diff": round(float(np.abs(fp32 - int8).max()), 4),
        "max_batch_dependence": round(_batch_dependence(int8_predictor, texts), 4),
        "default": False,
    }
    manifest["variants"]["int8"] = variant
    _write_json(manifest_path, manifest)
    return variant


def _batch_dependence(p: Predictor, texts: list[str]) -> float:
    """Largest score change of a text between being scored in one forward batch and alone."""
    sample = texts[: p.max_batch_size]
    together = p.predict_proba(sample)  # (B, C)
    alone = np.concatenate([p.predict_proba([t]) for t in sample])  # (B, C)
    return float(np.abs(together - alone).max())


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.quantize", description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir", help="an exported model directory (model.pt, vocab.json, manifest.json)")
    args = p.parse_args(argv)
    from training.data import load_splits

    model_dir = Path(args.model_dir)
    torch.set_num_threads(1)
    try:
        model = eager_from_artifact(model_dir)
    except (ModelLoadError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = config_from_saved(json.loads((model_dir / MANIFEST_FILE).read_text())["config"])
    data_dir = cfg.data_dir if Path(cfg.data_dir).is_dir() else DEFAULT_DATA_DIR  # recorded path may be elsewhere
    splits = load_splits(data_dir, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, cfg.limit, protocol=cfg.split)
    variant = add_int8_variant(model_dir, model, [e.text for e in splits.test], [e.label for e in splits.test])
    print(json.dumps(variant, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
