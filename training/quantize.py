"""Build the opt-in int8 variant of an exported model: ``model-int8.pt`` + its record ``model-int8.json``.

    sentiment quantize models/default      # = python -m training.quantize models/default (about a minute)

The variant is derived, not committed: `sentiment train` builds it after every export, and the command above
builds it for a checked-out model. It is **batch-invariant** (training/pinned_int8.py): the recurrent and linear
weights are int8 with activation ranges calibrated on the validation split and pinned, so a text gets the same
int8 scores whatever it is batched with, on every engine. The embedding tables stay as exported. Quantization
runs on the eager ``nn.Module`` (on a ScriptModule it is a no-op), so the eager model is rebuilt from the exported
TorchScript archive's weights and the manifest's config: no pickles, no training checkpoint needed.

Before it is recorded the variant is measured through the serving path (service.core.artifact + predictor) on the
test part of the model's own split protocol: AvgRec of fp32 and int8, label agreement, the largest probability
difference, and the largest change of a text's scores between being scored alone and in a batch (0 by
construction). ``model-int8.json``
keeps these figures and the sha256 of the ``model.pt`` and ``vocab.json`` it was built from, so a variant left
over from another model is refused at load time. int8 kernels (fbgemm) are CPU-only; fp32 stays the default.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from service.core.artifact import load_artifact
from service.core.evaluation import evaluate_predictions
from service.core.features import collate
from service.core.manifest import (
    INT8_FILE,
    INT8_RECORD,
    MANIFEST_FILE,
    MODEL_FILE,
    VOCAB_BINDING,
    VOCAB_FILE,
    ModelLoadError,
    read_manifest,
    sha256_file,
)
from service.core.predictor import Predictor
from training.config import DEFAULT_DATA_DIR, config_from_saved
from training.model import Ensemble, SentimentRNN, build_model, compact_embeddings
from training.pinned_int8 import calibrate, pinned_int8

METHOD = (
    "batch-invariant dynamic quantization (training/pinned_int8.py): qint8 weights of LSTM/GRU and Linear, "
    "activation ranges calibrated on the validation split and pinned; embedding tables as exported"
)


def quantize(model: nn.Module, encoder: Any, calibration_texts: list[str]) -> nn.Module:
    """int8 recurrent and linear layers with pinned activation ranges (CPU only)."""
    model = model.cpu().eval()
    encoded = [encoder.encode(t) for t in calibration_texts]
    order = sorted(range(len(encoded)), key=lambda i: encoded[i].length)

    def feed() -> Iterator[torch.Tensor]:
        for start in range(0, len(order), 256):
            yield model(*collate([encoded[i] for i in order[start : start + 256]]))  # (B, C)

    return pinned_int8(model, calibrate(model, feed))


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
    # constants the eager model derives from its config (not in its state_dict; TorchScript archives keep them)
    derived = ("lex_swap",)
    unexpected = [k for k in unexpected if k.split(".")[-1] not in derived]
    if unexpected or required_missing:
        raise RuntimeError(f"{model_dir}: weights do not fit the config (missing {missing}, unexpected {unexpected})")
    if cfg.fp16_embeddings:  # load_state_dict copied the float16 tables into float32 ones: store them as exported
        compact_embeddings(model)
    return model.eval()


def _avg_recall(probs: np.ndarray, gold: list[int]) -> float:
    return float(evaluate_predictions(gold, probs.argmax(axis=1).tolist())["avg_recall"])


def _drop_legacy_variant(model_dir: Path) -> None:
    """Artifacts of before 2026-12 listed the variant in manifest.json; it now lives in its own record."""
    manifest = read_manifest(model_dir)
    if "int8" in manifest.variants or INT8_FILE in manifest.files:
        manifest.variants.pop("int8", None)
        manifest.files.pop(INT8_FILE, None)
        manifest.write(model_dir)


def add_int8_variant(
    model_dir: Path, model: nn.Module, texts: list[str], gold: list[int], calibration_texts: list[str]
) -> dict[str, Any]:
    """Write ``model-int8.pt`` and ``model-int8.json`` next to ``model.pt``; measure it on (texts, gold)."""
    model_dir = Path(model_dir)
    _drop_legacy_variant(model_dir)
    (model_dir / INT8_RECORD).unlink(missing_ok=True)  # a variant being replaced is not served meanwhile
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    fp32_artifact = load_artifact(model_dir, "cpu", precision="fp32")
    with torch.no_grad():
        scripted = torch.jit.script(quantize(model, fp32_artifact.encoder, calibration_texts))
    tmp = model_dir / f".{INT8_FILE}.tmp"
    scripted.save(str(tmp), _extra_files={VOCAB_BINDING: manifest["files"][VOCAB_FILE]})
    os.replace(tmp, model_dir / INT8_FILE)
    record: dict[str, Any] = {
        "variant": "int8",
        "file": INT8_FILE,
        "sha256": sha256_file(model_dir / INT8_FILE),
        "model": {MODEL_FILE: manifest["files"][MODEL_FILE], VOCAB_FILE: manifest["files"][VOCAB_FILE]},
        "method": METHOD,
        "device": "cpu",
        "calibrated_on": f"validation split ({len(calibration_texts)} texts)",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "default": False,
    }
    _write_json(model_dir / INT8_RECORD, record)  # provisional (no figures yet): lets the loader find it

    fp32 = Predictor(fp32_artifact).predict_proba(texts)  # (N, C)
    int8_predictor = Predictor(load_artifact(model_dir, "cpu", precision="int8"))
    int8 = int8_predictor.predict_proba(texts)  # (N, C)
    fp32_ar, int8_ar = _avg_recall(fp32, gold), _avg_recall(int8, gold)
    record.update(
        {
            "measured_on": f"the test part of the model's split ({len(texts)} texts)",
            "fp32_avg_recall": round(fp32_ar, 4),
            "avg_recall": round(int8_ar, 4),
            "avg_recall_delta": round(int8_ar - fp32_ar, 4),
            "label_agreement": round(float((fp32.argmax(1) == int8.argmax(1)).mean()), 4),
            "max_abs_prob_diff": round(float(np.abs(fp32 - int8).max()), 4),
            "max_batch_dependence": float(_batch_dependence(int8_predictor, texts)),
        }
    )
    _write_json(model_dir / INT8_RECORD, record)
    return record


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
    p = argparse.ArgumentParser(
        prog="sentiment quantize", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    variant = add_int8_variant(
        model_dir, model, [e.text for e in splits.test], [e.label for e in splits.test], [e.text for e in splits.val]
    )
    print(json.dumps(variant, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
