"""Export a trained model to ``models/<name>/``: TorchScript (scripted, not traced) + vocab + manifest.

The export is checked before it is published: the written archive is loaded back through the serving
path (service.artifact + service.predictor: serving tokenizer, encoder, sha256 checks) and its
probabilities must match the eager model's on real texts within `atol`. Only then is the temporary
directory renamed over the target, so a failed export never leaves a half-written model behind.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from service.artifact import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_FILE,
    VOCAB_BINDING,
    VOCAB_FILE,
    WORDS_FILE,
    load_artifact,
    sha256_file,
)
from service.features import Encoder
from service.predictor import Predictor
from service.readers import LABELS
from service.tokenizer import TOKENIZER_VERSION, Tokenizer
from training.config import TrainConfig
from training.train import feature_config, make_tokenizer, numericalise, pad_batch


class ExportParityError(RuntimeError):
    pass


@torch.no_grad()
def eager_probs(
    model: nn.Module, texts: list[str], itos: list[str], cfg: TrainConfig, tokenizer: Tokenizer | None = None
) -> torch.Tensor:
    """The training-side path: training numericalisation + eager module. (N, C)."""
    from training.data import Example

    encoder = Encoder(itos, feature_config(cfg), tokenizer or make_tokenizer(cfg))
    t = numericalise([Example(str(i), s, 0) for i, s in enumerate(texts)], encoder)
    word, sub, lengths = pad_batch(t, list(range(len(texts))))
    return model.eval()(word, sub, lengths)


def export(
    model: nn.Module,
    itos: list[str],
    cfg: TrainConfig,
    out_dir: Path,
    *,
    name: str,
    version: str,
    metrics: dict[str, Any],
    data_info: dict[str, Any],
    parity_texts: list[str],
    atol: float = 1e-5,
    tokenizer: Tokenizer | None = None,
) -> Path:
    model = model.cpu().eval()
    tokenizer = tokenizer or make_tokenizer(cfg)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        scripted = torch.jit.script(model)
        (tmp / VOCAB_FILE).write_text(json.dumps(itos, ensure_ascii=False), encoding="utf-8")
        scripted.save(str(tmp / MODEL_FILE), _extra_files={VOCAB_BINDING: sha256_file(tmp / VOCAB_FILE)})
        files = {MODEL_FILE: sha256_file(tmp / MODEL_FILE), VOCAB_FILE: sha256_file(tmp / VOCAB_FILE)}
        words_file = None
        if tokenizer.options.needs_words():
            words_file = WORDS_FILE
            (tmp / WORDS_FILE).write_text(json.dumps(tokenizer.words, ensure_ascii=False), encoding="utf-8")
            files[WORDS_FILE] = sha256_file(tmp / WORDS_FILE)
        temperature = float(model.temperature) if hasattr(model, "temperature") else 1.0
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": version,
            "labels": list(LABELS),
            "tokenizer_version": TOKENIZER_VERSION,
            "tokenizer": {"options": tokenizer.options.to_dict(), "words": words_file},
            "features": feature_config(cfg).__dict__,
            "files": files,
            "temperature": temperature,
            "metrics": metrics,
            "config": cfg.to_dict(),
            "data": data_info,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "torch_version": torch.__version__,
            "inputs": "forward(word_ids int64 (B,T), sub_ids int64 (B,T,S), lengths int64 (B,)) -> probs (B,3)",
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")

        served = Predictor(load_artifact(tmp, device="cpu")).predict_proba(parity_texts)
        expected = eager_probs(model, parity_texts, itos, cfg, tokenizer).numpy()
        diff = float(abs(served - expected).max()) if len(parity_texts) else 0.0
        if not diff <= atol:
            raise ExportParityError(
                f"TorchScript/serving output differs from eager by {diff:.2e} (> {atol:.0e}) "
                f"on {len(parity_texts)} texts; nothing was written to {out_dir}"
            )
        manifest["parity"] = {"texts": len(parity_texts), "max_abs_diff": diff, "atol": atol}
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes it 0700: the container's non-root user must read a mounted model
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
        return out_dir
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
