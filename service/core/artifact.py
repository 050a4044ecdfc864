"""The serving artifact: ``models/<name>/{model.pt, vocab.json, manifest.json}``.

* ``model.pt``: a TorchScript archive (fp32). ``forward(word_ids (B,T), sub_ids (B,T,S), lengths (B,)) -> probs (B,3)``
  with temperature scaling applied inside; ``logits(...)`` gives the raw scores.
* ``model-int8.pt`` + ``model-int8.json`` (optional, built on demand by ``sentiment quantize DIR``, not committed):
  the same model with int8 recurrent/linear weights, CPU only. The JSON record holds the file's sha256, the sha256
  of the ``model.pt`` and ``vocab.json`` it was built from (a variant of another model is refused) and its measured
  AvgRec change. Opt-in (``precision="int8"``). Older artifacts list the variant in ``manifest.variants.int8``.
* ``vocab.json``: the vocabulary as a JSON list (index -> token).
* ``words.json`` (when the tokenizer options need it): word -> corpus count, read by hashtag segmentation and
  elongation lookup (service.core.tokenizer); the manifest's ``tokenizer`` entry names the options and this file.
* ``manifest.json``: labels, tokenizer version and options, feature config, metrics, sha256 of every file,
  provenance.

Loading verifies everything before the model runs and raises `ModelLoadError` with a specific message.
Nothing is unpickled: the archive is checked to be a TorchScript zip and read by ``torch.jit.load``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import torch

from service.core.features import Encoder, FeatureConfig
from service.core.manifest import (
    FORMAT_VERSION,
    INT8_FILE,
    INT8_RECORD,
    MANIFEST_FILE,
    MODEL_FILE,
    VOCAB_BINDING,
    VOCAB_FILE,
    Manifest,
    ModelLoadError,
    read_manifest,
    sha256_file,
)
from service.core.paths import DEFAULT_MODEL_DIR
from service.core.tokenizer import KNOWN_VERSIONS, TOKENIZER_VERSION, Tokenizer, TokenizerOptions

PRECISIONS = ("fp32", "int8")
__all__ = ["Artifact", "ModelLoadError", "artifact_files", "load_artifact", "read_variant"]


def _check_torchscript_archive(path: Path) -> None:
    """A TorchScript file is a zip with code/ and constants.pkl; anything else (a raw pickle...) is refused."""
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path} is not a TorchScript archive (not a zip file); refusing to load it")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if not any("/code/" in n for n in names) or not any(n.endswith("constants.pkl") for n in names):
        raise ModelLoadError(f"{path} is a zip file but not a TorchScript archive (no code/ or constants.pkl)")


def _inside(path: Path, root: Path) -> Path:
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise ModelLoadError(f"{path} points outside the model directory {root}; refusing to load it")
    return real


class Artifact:
    """A verified model directory: manifest, encoder and the TorchScript module (on `device`)."""

    def __init__(
        self,
        model_dir: Path,
        manifest: Manifest,
        encoder: Encoder,
        module: torch.jit.ScriptModule,
        device: torch.device,
        precision: str = "fp32",
        variant: dict[str, Any] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.manifest = manifest
        self.encoder = encoder
        self.module = module
        self.device = device
        self.precision = precision  # the weights actually loaded: fp32 | int8
        self.variant = variant  # the int8 variant's record when precision is int8

    @property
    def weights_sha256(self) -> str:
        return self.variant["sha256"] if self.variant else self.manifest.files[MODEL_FILE]

    @property
    def labels(self) -> list[str]:
        return self.manifest.labels


def verify(model_dir: Path, manifest: Manifest) -> None:
    """Check versions and the sha256 of every file the manifest lists."""
    if manifest.format_version != FORMAT_VERSION:
        raise ModelLoadError(
            f"{model_dir}: artifact format {manifest.format_version}, this service reads format {FORMAT_VERSION}"
        )
    if manifest.tokenizer_version not in KNOWN_VERSIONS:
        raise ModelLoadError(
            f"{model_dir}: model was trained with tokenizer {manifest.tokenizer_version!r}, "
            f"this service has {TOKENIZER_VERSION!r} (reads {', '.join(KNOWN_VERSIONS)}); re-export the model"
        )
    for required in (MODEL_FILE, VOCAB_FILE):
        if required not in manifest.files:
            raise ModelLoadError(f"{model_dir}/{MANIFEST_FILE} lists no sha256 for {required}")
    for name, expected in manifest.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelLoadError(f"{path} is missing (listed in the manifest)")
        actual = sha256_file(_inside(path, model_dir))
        if actual != expected:
            raise ModelLoadError(
                f"sha256 mismatch for {path}: manifest says {expected[:12]}…, file has "
                f"{actual[:12]}…; the file was changed or belongs to another model"
            )


def build_tokenizer(model_dir: Path, manifest: Manifest) -> Tokenizer:
    """The tokenizer the manifest declares: its options, and the word table they read (sha256-checked by verify)."""
    spec = manifest.tokenizer
    try:
        options = TokenizerOptions(**spec.get("options", {}))
    except TypeError as e:
        raise ModelLoadError(f"{model_dir}/{MANIFEST_FILE}: unknown tokenizer options {spec.get('options')}") from e
    if manifest.tokenizer_version == "tweet-v1" and options != TokenizerOptions():
        raise ModelLoadError(f"{model_dir}: tokenizer tweet-v1 has no options, the manifest names {spec['options']}")
    if manifest.tokenizer_version == "tweet-v2" and options.emoji:
        raise ModelLoadError(f"{model_dir}: tokenizer tweet-v2 has no emoji option (it came with tweet-v3)")
    words = _json_table(model_dir, manifest, spec.get("words"), "word table")
    emoji = _json_table(model_dir, manifest, spec.get("emoji"), "emoji table")
    try:
        return Tokenizer(options, words, emoji)
    except (ValueError, TypeError, AttributeError) as e:
        raise ModelLoadError(f"{model_dir}: tokenizer options {options.to_dict()}: {e}") from e


def _json_table(model_dir: Path, manifest: Manifest, name: str | None, what: str) -> dict[str, Any] | None:
    """A JSON object file of the artifact that the manifest names (sha256-checked by verify), or None."""
    if not name:
        return None
    if name not in manifest.files:
        raise ModelLoadError(f"{model_dir}/{MANIFEST_FILE} lists no sha256 for the {what} {name}")
    try:
        table = json.loads(_inside(model_dir / name, model_dir).read_text(encoding="utf-8"))
    except ValueError as e:
        raise ModelLoadError(f"{model_dir / name}: not a JSON {what}: {e}") from e
    if not isinstance(table, dict):
        raise ModelLoadError(f"{model_dir / name}: the {what} must be a JSON object, not {type(table).__name__}")
    return table


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' requested but CUDA is not available on this host")
    return torch.device(requested)


def read_variant(model_dir: Path, manifest: Manifest, name: str = "int8") -> dict[str, Any] | None:
    """The record of the model's `name` variant (file, sha256, measured figures), or None when it has none.
    Raises ModelLoadError for a record that is unreadable or was built from another model."""
    legacy = manifest.variants.get(name)
    if legacy is not None:  # older artifacts listed the variant in the manifest itself
        file = legacy.get("file", INT8_FILE)
        return {**legacy, "file": file, "sha256": manifest.files.get(file, "")}
    path = model_dir / INT8_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        file, sha, built_from = record["file"], record["sha256"], record["model"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(
            f"{path} is not a valid variant record ({e}); rebuild it: sentiment quantize {model_dir}"
        ) from e
    if not isinstance(file, str) or "/" in file or not isinstance(sha, str) or not isinstance(built_from, dict):
        raise ModelLoadError(f"{path}: invalid file name or sha256; rebuild it: sentiment quantize {model_dir}")
    base = {MODEL_FILE: manifest.files.get(MODEL_FILE), VOCAB_FILE: manifest.files.get(VOCAB_FILE)}
    if built_from != base:
        raise ModelLoadError(
            f"{path} was built from another model (model.pt {str(built_from.get(MODEL_FILE))[:12]}…, this model has "
            f"{str(base[MODEL_FILE])[:12]}…); rebuild it: sentiment quantize {model_dir}"
        )
    return record


def resolve_precision(device: torch.device, requested: str, variant: dict[str, Any] | None, model_dir: Path) -> str:
    """Check that `requested` (fp32 | int8) can be served: int8 needs the model's int8 variant and a CPU."""
    if requested not in PRECISIONS:
        raise ModelLoadError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested == "int8":
        if variant is None:
            raise ModelLoadError(
                f"{model_dir} has no int8 variant; build it once with `sentiment quantize {model_dir}` (about a "
                "minute; it writes model-int8.pt and model-int8.json next to model.pt)"
            )
        if device.type != "cpu":
            raise ModelLoadError(f"int8 weights run on the CPU only, not on {device}; use precision fp32")
    return requested


def artifact_files(model_dir: str | Path, precision: str = "fp32") -> list[str]:
    """The files a loader of `precision` reads from `model_dir` (to ship a model to remote workers)."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    names = [MANIFEST_FILE, *manifest.files]
    if precision == "int8":
        variant = read_variant(model_dir, manifest)
        if variant is not None and variant["file"] not in names:
            names += [INT8_RECORD, variant["file"]]
    return names


def load_artifact(
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    device: str = "auto",
    require_binding: bool = True,
    precision: str = "fp32",
) -> Artifact:
    """Verify and load a model directory with the weights of `precision` (fp32, or the opt-in int8 variant).
    `require_binding=False` only for local training outputs exported before model.pt carried its vocabulary's
    hash (training.ensemble members)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory not found: {model_dir}")
    manifest = read_manifest(model_dir)
    verify(model_dir, manifest)
    dev = pick_device(device)
    variant = read_variant(model_dir, manifest) if precision == "int8" else None
    precision = resolve_precision(dev, precision, variant, model_dir)
    model_path = model_dir / (variant["file"] if variant else MODEL_FILE)
    if variant is not None:
        if not model_path.is_file():
            raise ModelLoadError(f"{model_path} is missing (named by the int8 variant record)")
        actual = sha256_file(_inside(model_path, model_dir))
        if actual != variant["sha256"]:
            raise ModelLoadError(
                f"sha256 mismatch for {model_path}: the variant record says {variant['sha256'][:12]}…, file has "
                f"{actual[:12]}…; the file was changed or belongs to another model"
            )
    _check_torchscript_archive(model_path)
    try:
        itos = json.loads((model_dir / VOCAB_FILE).read_text(encoding="utf-8"))
        encoder = Encoder(itos, FeatureConfig(**manifest.features), build_tokenizer(model_dir, manifest))
    except (ValueError, TypeError) as e:
        raise ModelLoadError(f"{model_dir / VOCAB_FILE}: invalid vocabulary or feature config: {e}") from e
    extra = {VOCAB_BINDING: ""}
    try:
        module = torch.jit.load(str(model_path), map_location=dev, _extra_files=extra)
    except Exception as e:  # torch raises RuntimeError subclasses with long C++ traces
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise ModelLoadError(f"{model_path}: not a loadable TorchScript model ({first})") from e
    bound = extra[VOCAB_BINDING]
    bound = bound.decode() if isinstance(bound, bytes) else bound
    if bound != manifest.files[VOCAB_FILE] and (require_binding or bound):
        raise ModelLoadError(
            f"{model_path} was exported with another vocabulary ({bound[:12] or 'none recorded'}…) than "
            f"{model_dir / VOCAB_FILE} ({manifest.files[VOCAB_FILE][:12]}…): the files come from different models"
        )
    module.eval()
    return Artifact(model_dir, manifest, encoder, module, dev, precision, variant)
