"""Typed training configuration. Saved inside every checkpoint and in the exported manifest."""

from __future__ import annotations

import argparse
import inspect
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from service.core.features import FeatureConfig

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "semeval2017-task4a"


@dataclass
class TrainConfig:
    # data
    data_dir: str = str(DEFAULT_DATA_DIR)  # folder of the SemEval .tsv files (../shared/data/semeval2017-task4a)
    val_fraction: float = 0.1  # stratified, of the deduplicated pool
    test_fraction: float = 0.1  # the internal test split
    split_seed: int = 2017  # fixes the split independently of the model seed
    limit: int = 0  # use only the first N pooled tweets (0 = all); for --dry-run and tests
    # vocabulary and features
    min_freq: int = 2  # a training token enters the vocabulary when it occurs this often
    max_len: int = 64  # tokens kept per text (the rest is cut), in training and serving
    subword_buckets: int = 20_000  # 0 = no char n-gram features
    ngram_min: int = 3  # shortest hashed character n-gram of a token
    ngram_max: int = 5  # longest hashed character n-gram of a token
    max_ngrams: int = 16  # character n-grams kept per token
    # model
    embed_dim: int = 200  # word embedding size
    subword_dim: int = 100  # character n-gram embedding size (averaged per token)
    hidden_dim: int = 32  # recurrent units per direction
    num_layers: int = 1  # stacked recurrent layers (the int8 variant needs 1)
    rnn: str = "lstm"  # lstm | gru
    pooling: str = "attn_max"  # attn_max | attn | max | mean | last
    dropout: float = 0.4  # dropout before the classifier (and between recurrent layers)
    embed_dropout: float = 0.2  # dropout on the embedded tokens
    word_dropout: float = 0.05  # prob. of replacing a token by <unk> while training
    forget_bias: float = 1.0  # initial LSTM forget-gate bias
    members: int = 3  # >1: train that many models (seeds seed, seed + 1, ...) and export their mean
    linear_branch: bool = False  # add a linear bag-of-(word + char n-gram) model's logits (fastText style)
    # optimisation
    epochs: int = 8  # most passes over the training split (early stopping usually ends sooner)
    batch_size: int = 64  # texts per training step
    lr: float = 2e-3  # Adam learning rate
    weight_decay: float = 1e-6  # Adam weight decay
    lr_schedule: str = "plateau"  # plateau | cosine | none
    clip_norm: float = 1.0  # gradients are clipped to this L2 norm
    class_weighting: str = "balanced"  # balanced | sqrt | none
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0 = none)
    adv_eps: float = 0.0  # 0 = off; else adversarial training: L2 norm of the embedding perturbation per text
    distill: float = 0.0  # weight of the TF-IDF + LR baseline's soft targets in the loss (0 = hard labels only)
    ema_decay: float = 0.999  # 0 = off; else validate/export an exponential moving average of the weights
    patience: int = 2  # epochs without validation AvgRec gain before stopping
    seed: int = 13  # model seed (initialisation, batches, dropout); members use seed, seed + 1, ...
    threads: int = 1  # torch intra-op threads: 1 is deterministic on any host and robust on a shared CPU
    device: str = "cpu"  # cpu | cuda | auto
    fp16_embeddings: bool = True  # store the trained embedding tables in float16 (half the artifact size)
    calibrate: bool = True  # fit a temperature on validation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Fields added after models had been exported, with the value those models implicitly used: a config saved
# before a field existed must not pick up today's default for it (an old single network is not a 3-member
# ensemble, and its tables are float32).
LEGACY_VALUES: dict[str, Any] = {
    "members": 1,
    "ema_decay": 0.0,
    "adv_eps": 0.0,
    "distill": 0.0,
    "fp16_embeddings": False,
}


def config_from_saved(saved: dict[str, Any]) -> TrainConfig:
    """The TrainConfig a manifest or checkpoint recorded: unknown keys dropped, later-added fields as they were."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in {**LEGACY_VALUES, **saved}.items() if k in known})


def field_comments(cls: type = TrainConfig) -> dict[str, str]:
    """The comment at the end of each field's line in the class source (``name: type = value  # comment``), and the
    section comment above a field when it has none: the one description of a field, shown by ``--help``."""
    comments: dict[str, str] = {}
    section = ""
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            section = stripped.lstrip("# ").strip()
            continue
        m = re.match(r"^(\w+)\s*:\s*[^=]+=\s*.+?(?:#\s*(.*))?$", stripped)
        if m:
            comments[m.group(1)] = (m.group(2) or "").strip() or section
    return comments


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {s!r}")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """One --flag per TrainConfig field (dashes for underscores), defaulting to the dataclass value; the help text is
    the field's comment in the class."""
    comments = field_comments()
    group = parser.add_argument_group("model and training settings (TrainConfig; saved in the manifest)")
    for f in fields(TrainConfig):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        text = f"{comments.get(f.name, '')} (default: {default})".strip()
        if isinstance(default, bool):
            group.add_argument(flag, type=_bool, default=default, metavar="BOOL", help=text)
        else:
            group.add_argument(flag, type=type(default), default=default, help=text)


def feature_config(cfg: TrainConfig) -> FeatureConfig:
    """The serving-side feature settings a config trains with (stored in the manifest)."""
    return FeatureConfig(cfg.max_len, cfg.subword_buckets, cfg.ngram_min, cfg.ngram_max, cfg.max_ngrams)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
