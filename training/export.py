"""Export a trained model to ``models/<name>/``: TorchScript (scripted, not traced) + vocab + manifest.

The export is checked before it is published: the written archive is loaded back through the serving
path (service.core.artifact + service.core.predictor: serving tokenizer, encoder, sha256 checks) and its
probabilities must match the eager model's on real texts within `atol`. Only then is the temporary
directory renamed over the target, so a failed export never leaves a half-written model behind.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from service.core.artifact import load_artifact
from service.core.features import Encoder, collate
from service.core.labels import LABELS
from service.core.manifest import (
    EMOJI_FILE,
    FORMAT_VERSION,
    MODEL_FILE,
    VOCAB_BINDING,
    VOCAB_FILE,
    WORDS_FILE,
    Manifest,
    sha256_file,
)
from service.core.predictor import Predictor
from service.core.tokenizer import TOKENIZER_VERSION, Tokenizer
from training.config import TrainConfig, feature_config
from training.prepare import make_tokenizer


class ExportParityError(RuntimeError):
    pass


@torch.no_grad()
def eager_probs(
    model: nn.Module, texts: list[str], itos: list[str], cfg: TrainConfig, tokenizer: Tokenizer | None = None
) -> torch.Tensor:
    """The eager module on the serving encoder's tensors: (N, C)."""
    encoder = Encoder(itos, feature_config(cfg), tokenizer or make_tokenizer(cfg))
    return model.eval()(*collate([encoder.encode(t) for t in texts]))


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
    extra_metrics: Callable[[Path], dict[str, Any]] | None = None,
) -> Path:
    """Write the artifact to `out_dir` (atomically: a temporary sibling renamed at the end) after checking that the
    served model equals the eager one on `parity_texts`. `extra_metrics(dir)` may measure the written artifact
    through the serving path (e.g. the behavioural suite); its result is added to the manifest's metrics."""
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
        emoji_file = None
        if tokenizer.options.emoji:
            emoji_file = EMOJI_FILE
            table = {k: " ".join(v) for k, v in sorted(tokenizer.emoji.items())}
            (tmp / EMOJI_FILE).write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
            files[EMOJI_FILE] = sha256_file(tmp / EMOJI_FILE)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            name=name,
            version=version,
            labels=list(LABELS),
            tokenizer_version=TOKENIZER_VERSION,
            tokenizer={"options": tokenizer.options.to_dict(), "words": words_file, "emoji": emoji_file},
            features=feature_config(cfg).__dict__,
            files=files,
            temperature=float(model.temperature) if hasattr(model, "temperature") else 1.0,
            metrics=metrics,
            config=cfg.to_dict(),
            data=data_info,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            torch_version=torch.__version__,
        )
        manifest.write(tmp)

        served = Predictor(load_artifact(tmp, device="cpu")).predict_proba(parity_texts)
        expected = eager_probs(model, parity_texts, itos, cfg, tokenizer).numpy()
        diff = float(abs(served - expected).max()) if len(parity_texts) else 0.0
        if not diff <= atol:
            raise ExportParityError(
                f"TorchScript/serving output differs from eager by {diff:.2e} (> {atol:.0e}) "
                f"on {len(parity_texts)} texts; nothing was written to {out_dir}"
            )
        manifest.parity = {"texts": len(parity_texts), "max_abs_diff": diff, "atol": atol}
        if extra_metrics is not None:
            manifest.metrics = {**manifest.metrics, **extra_metrics(tmp)}
        manifest.write(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it 0700: the container's non-root user must read a mounted model
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
        return out_dir
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
