"""The artifact's manifest (``manifest.json``): its schema, read here and written by training/export.py.

No torch here: `sentiment serve`'s supervisor and the CLI read manifests without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.paths import DEFAULT_MODEL_DIR  # noqa: F401  (re-exported: the CLI's default --model)

FORMAT_VERSION = 1
MODEL_FILE, VOCAB_FILE, MANIFEST_FILE = "model.pt", "vocab.json", "manifest.json"
INT8_FILE, INT8_RECORD = "model-int8.pt", "model-int8.json"
WORDS_FILE = "words.json"  # word -> corpus count, for the tokenizer options that need it (service.core.tokenizer)
EMOJI_FILE = "emoji.json"  # emoji -> replacement tokens, for the tokenizer's emoji option (tweet-v3)
VOCAB_BINDING = "vocab.sha256"  # stored inside model.pt (_extra_files): ties the weights to their vocabulary
MODEL_INPUTS = "forward(word_ids int64 (B,T), sub_ids int64 (B,T,S), lengths int64 (B,)) -> probs (B,3)"


class ModelLoadError(RuntimeError):
    """The model directory cannot be served; the message says what is wrong and where."""


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")  # fields of later formats are kept, not dropped, when re-written

    format_version: int
    name: str
    version: str
    labels: list[str] = Field(min_length=2)
    tokenizer_version: str
    tokenizer: dict[str, Any] = {}  # {"options": TokenizerOptions fields, "words": WORDS_FILE, "emoji": EMOJI_FILE}
    features: dict[str, int]
    files: dict[str, str]  # file name -> sha256
    temperature: float = 1.0
    metrics: dict[str, Any] = {}
    config: dict[str, Any] = {}
    data: dict[str, Any] = {}
    created_at: str
    torch_version: str
    inputs: str = MODEL_INPUTS
    parity: dict[str, Any] = {}  # the export's check: texts, max_abs_diff, atol
    variants: dict[str, dict[str, Any]] = {}  # artifacts before 2026-12 listed their int8 variant here

    def write(self, model_dir: Path) -> Path:
        """``manifest.json`` in `model_dir` (indented JSON, non-ASCII kept; the legacy ``variants`` only if set)."""
        data = self.model_dump(mode="json", exclude={"variants"} if not self.variants else None)
        path = Path(model_dir) / MANIFEST_FILE
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        return path


def read_manifest(model_dir: Path) -> Manifest:
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ModelLoadError(f"no {MANIFEST_FILE} in {model_dir}: not a model directory")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as e:
        raise ModelLoadError(f"{path} is not a valid manifest: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from e


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
