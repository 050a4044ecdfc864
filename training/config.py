"""Typed training configuration. Saved inside every checkpoint and in the exported manifest."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "semeval2017-task4a"


@dataclass
class TrainConfig:
    # data
    data_dir: str = str(DEFAULT_DATA_DIR)
    val_fraction: float = 0.1  # stratified, of the deduplicated pool
    test_fraction: float = 0.1  # the internal test split
    split_seed: int = 2017  # fixes the split independently of the model seed
    limit: int = 0  # use only the first N pooled tweets (0 = all); for --dry-run and tests
    # vocabulary and features
    min_freq: int = 2
    max_len: int = 64
    subword_buckets: int = 20_000  # 0 = no char n-gram features
    ngram_min: int = 3
    ngram_max: int = 5
    max_ngrams: int = 16
    # model
    embed_dim: int = 200
    subword_dim: int = 100
    hidden_dim: int = 32
    num_layers: int = 1
    rnn: str = "lstm"  # lstm | gru
    pooling: str = "attn_max"  # attn_max | attn | max | mean | last
    dropout: float = 0.4
    embed_dropout: float = 0.2
    word_dropout: float = 0.05  # prob. of replacing a token by <unk> while training
    forget_bias: float = 1.0
    members: int = 3  # >1: train that many models (seeds seed, seed + 1, ...) and export their mean
    linear_branch: bool = False  # add a linear bag-of-(word + char n-gram) model's logits (fastText style)
    # optimisation
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-6
    lr_schedule: str = "plateau"  # plateau | cosine | none
    clip_norm: float = 1.0
    class_weighting: str = "balanced"  # balanced | sqrt | none
    label_smoothing: float = 0.0
    adv_eps: float = 0.0  # 0 = off; else adversarial training: L2 norm of the embedding perturbation per text
    distill: float = 0.0  # weight of the TF-IDF + LR baseline's soft targets in the loss (0 = hard labels only)
    ema_decay: float = 0.999  # 0 = off; else validate/export an exponential moving average of the weights
    patience: int = 2  # epochs without validation AvgRec gain before stopping
    seed: int = 13
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


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """One --flag per TrainConfig field (dashes for underscores), defaulting to the dataclass value."""
    for f in fields(TrainConfig):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                type=lambda s: s.lower() in ("1", "true", "yes"),
                default=default,
                metavar="BOOL",
                help=f"(default: {default})",
            )
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f"(default: {default})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
