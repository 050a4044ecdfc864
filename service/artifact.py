"""The serving artifact: ``models/<name>/{model.pt, vocab.json, manifest.json}``.

* ``model.pt``: a TorchScript archive (fp32). ``forward(word_ids (B,T), sub_ids (B,T,S), lengths (B,)) -> probs (B,3)``
  with temperature scaling applied inside; ``logits(...)`` gives the raw scores.
* ``model-int8.pt`` (optional): the same model with int8 LSTM/linear weights (training/quantize.py), CPU only;
  ``manifest.variants.int8`` holds its measured AvgRec change. Opt-in (``precision="int8"``): activations are
  quantized per batch, so a text's scores move slightly (<= ~0.01) with the other texts of its batch.
* ``vocab.json``: the vocabulary as a JSON list (index -> token).
* ``words.json`` (when the tokenizer options need it): word -> corpus count, read by hashtag segmentation and
  elongation lookup (service.tokenizer); the manifest's ``tokenizer`` entry names the options and this file.
* ``manifest.json``: labels, tokenizer version and options, feature config, metrics, sha256 of every file,
  provenance.

Loading verifies everything before the model runs and raises `ModelLoadError` with a specific message.
Nothing is unpickled: the archive is checked to be a TorchScript zip and read by ``torch.jit.load``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field, ValidationError

from service.features import Encoder, FeatureConfig
from service.tokenizer import KNOWN_VERSIONS, TOKENIZER_VERSION, Tokenizer, TokenizerOptions

FORMAT_VERSION = 1
MODEL_FILE, VOCAB_FILE, MANIFEST_FILE = "model.pt", "vocab.json", "manifest.json"
INT8_FILE = "model-int8.pt"
WORDS_FILE = "words.json"
PRECISIONS = ("fp32", "int8")
VOCAB_BINDING = "vocab.sha256"  # stored inside model.pt (_extra_files): ties the weights to their vocabulary
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


class ModelLoadError(RuntimeError):
    """The model directory cannot be served; the message says what is wrong and where."""


class Manifest(BaseModel):
    format_version: int
    name: str
    version: str
    labels: list[str] = Field(min_length=2)
    tokenizer_version: str
    tokenizer: dict[str, Any] = {}  # {"options": TokenizerOptions fields, "words": WORDS_FILE or null}
    features: dict[str, int]
    files: dict[str, str]  # file name -> sha256
    temperature: float = 1.0
    metrics: dict[str, Any] = {}
    config: dict[str, Any] = {}
    data: dict[str, Any] = {}
    created_at: str
    torch_version: str
    variants: dict[str, dict[str, Any]] = {}  # e.g. "int8": {"file", "avg_recall_delta", "label_agreement", ...}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    ) -> None:
        self.model_dir = model_dir
        self.manifest = manifest
        self.encoder = encoder
        self.module = module
        self.device = device
        self.precision = precision  # the weights actually loaded: fp32 | int8

    @property
    def weights_file(self) -> str:
        """The file the loaded weights came from: model.pt, or the int8 variant's file."""
        return weights_file(self.manifest, self.precision)

    @property
    def labels(self) -> list[str]:
        return self.manifest.labels


def read_manifest(model_dir: Path) -> Manifest:
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        raise ModelLoadError(f"no {MANIFEST_FILE} in {model_dir}: not a model directory")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as e:
        raise ModelLoadError(f"{path} is not a valid manifest: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from e


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
    words = None
    if spec.get("words"):
        name = spec["words"]
        if name not in manifest.files:
            raise ModelLoadError(f"{model_dir}/{MANIFEST_FILE} lists no sha256 for the word table {name}")
        try:
            words = json.loads(_inside(model_dir / name, model_dir).read_text(encoding="utf-8"))
        except ValueError as e:
            raise ModelLoadError(f"{model_dir / name}: not a JSON word table: {e}") from e
    try:
        return Tokenizer(options, words)
    except (ValueError, TypeError) as e:
        raise ModelLoadError(f"{model_dir}: tokenizer options {options.to_dict()}: {e}") from e


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' requested but CUDA is not available on this host")
    return torch.device(requested)


def weights_file(manifest: Manifest, precision: str) -> str:
    """The file holding the weights of `precision`: model.pt for fp32, the int8 variant's file for int8."""
    return manifest.variants["int8"].get("file", INT8_FILE) if precision == "int8" else MODEL_FILE


def resolve_precision(manifest: Manifest, device: torch.device, requested: str = "fp32") -> str:
    """Check that `requested` (fp32 | int8) can be served: int8 needs the model's int8 variant and a CPU."""
    if requested not in PRECISIONS:
        raise ModelLoadError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested == "int8":
        if "int8" not in manifest.variants:
            raise ModelLoadError("this model has no int8 variant; add one with `python -m training.quantize DIR`")
        if device.type != "cpu":
            raise ModelLoadError(f"int8 weights run on the CPU only, not on {device}; use precision fp32")
    return requested


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
    precision = resolve_precision(manifest, dev, precision)
    model_path = model_dir / weights_file(manifest, precision)
    if model_path.name not in manifest.files:
        raise ModelLoadError(f"{model_dir}/{MANIFEST_FILE} lists no sha256 for {model_path.name}")
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
    return Artifact(model_dir, manifest, encoder, module, dev, precision)
