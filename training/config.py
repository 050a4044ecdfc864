"""Typed training configuration. Saved inside every checkpoint and in the exported manifest.

Every field has a comment: it is the field's --help text (`add_config_args` reads them from this file).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import inspect
import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.core.features import FeatureConfig

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "semeval2017-task4a"


@dataclass
class TrainConfig:
    # data
    data_dir: str = str(DEFAULT_DATA_DIR)  # directory of the SemEval-2017 Task 4A .tsv files
    split: str = "final"  # final (cross-fit, then fit on all) | temporal (the protocol choices are made on) | random
    val_fraction: float = 0.1  # random split: share of the deduplicated pool for validation (stratified)
    test_fraction: float = 0.1  # random split: share of the pool for the internal test
    split_seed: int = 2017  # random split: fixes the split independently of the model seed
    limit: int = 0  # use only about N pooled tweets (0 = all); for --dry-run and tests
    # tokenizer options (service/core/tokenizer.py; recorded in the manifest, the word table shipped as words.json)
    hashtags: bool = True  # segment hashtags into words (camel case, then wordsegment's unigram counts)
    elongations: bool = True  # resolve elongated words against the word table ("goooood" -> "good")
    emoticons: bool = True  # map emoticon variants to canonical forms (":-)))" -> ":)")
    negation: bool = True  # mark tokens in a negation scope (a reserved sub-word id; a negated lexicon channel)
    negation_flip: bool = True  # negation: also swap a negated token's positive/negative lexicon strengths
    negation_augment: float = 0.1  # share of counterfactual negated copies of training tweets (training/augment.py)
    emoji: bool = True  # rewrite emoji as emoticons or name words (tweet-v3 tokenizer; table shipped as emoji.json)
    word_table: int = 50_000  # words of wordsegment's unigram counts kept for the hashtag/elongation options
    # vocabulary and features
    min_freq: int = 2  # training-vocabulary words need this many occurrences in the training split
    max_len: int = 64  # tokens kept per text
    subword_buckets: int = 20_000  # hashed char n-gram buckets; 0 = no char n-gram features
    ngram_min: int = 3  # shortest char n-gram
    ngram_max: int = 5  # longest char n-gram
    max_ngrams: int = 16  # char n-grams kept per token
    lexicons: str = "vader,afinn,emoji"  # prior-polarity lexicons, comma-separated: vader, afinn, emoji ("" = none)
    vectors: str = "frozen"  # GloVe 6B 50d concatenated to the word embeddings: none | frozen | finetune
    vectors_lr: float = 0.1  # vectors=finetune: learning-rate multiplier of the GloVe table
    extend_vocab: int = 50_000  # add the N most frequent GloVe words (and every lexicon word) as frozen vocabulary rows
    # model
    embed_dim: int = 100  # trainable word embedding size
    subword_dim: int = 50  # char n-gram embedding size
    hidden_dim: int = 64  # LSTM/GRU units per direction
    num_layers: int = 1  # recurrent layers
    rnn: str = "lstm"  # lstm | gru
    pooling: str = "attn_max"  # attn_max | attn | max | mean | last
    dropout: float = 0.4  # dropout before the output layer (and between recurrent layers)
    embed_dropout: float = 0.2  # dropout on the concatenated token inputs
    word_dropout: float = 0.05  # prob. of replacing a token's trainable embedding by <unk>'s while training
    forget_bias: float = 1.0  # LSTM forget-gate bias at initialisation
    members: int = 2  # >1: train that many models (seeds seed, seed + 1, ...) and export their mean
    linear_branch: bool = False  # add a linear bag-of-(word + char n-gram) model's logits (fastText style)
    ngram_branch: str = "none"  # none | average: a hashed word 1-2 + char n-gram linear model, own loss, probs averaged
    bigram_buckets: int = 100_000  # ngram_branch: hashed word-bigram buckets
    # optimisation
    epochs: int = 8  # most passes over the training split (early stopping usually ends sooner)
    final_epochs: int = 1  # split=final: the fixed length of every fit (the temporal run's best epoch, chosen first)
    batch_size: int = 64  # texts per training step
    lr: float = 2e-3  # Adam learning rate
    weight_decay: float = 1e-6  # Adam weight decay
    lr_schedule: str = "plateau"  # plateau | cosine | none
    clip_norm: float = 1.0  # gradient clipping (L2 norm)
    class_weighting: str = "balanced"  # balanced | sqrt | none
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    adv_eps: float = 0.0  # 0 = off; else adversarial training: L2 norm of the embedding perturbation per text
    distill: float = 0.0  # weight of the TF-IDF + LR baseline's soft targets in the loss (0 = hard labels only)
    ema_decay: float = 0.999  # 0 = off; else validate/export an exponential moving average of the weights
    patience: int = 2  # epochs without validation AvgRec gain before stopping
    seed: int = 13  # model seed (initialisation, batches, dropout); members use seed, seed + 1, ...
    threads: int = 1  # torch intra-op threads: 1 is deterministic on any host and robust on a shared CPU
    device: str = "cpu"  # cpu | cuda | auto
    fp16_embeddings: bool = True  # store the trained embedding tables in float16 (half the artifact size)
    calibrate: bool = True  # fit a temperature on validation
    class_bias: bool = True  # fit per-class logit biases maximising validation AvgRec (the decision rule)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lexicon_names(self) -> list[str]:
        return [n.strip() for n in self.lexicons.split(",") if n.strip()]


# Fields added after models had been exported, with the value those models implicitly used: a config saved
# before a field existed must not pick up today's default for it (an old single network is not a 3-member
# ensemble, and its tables are float32; every model before issue 19 used the random split).
LEGACY_VALUES: dict[str, Any] = {
    "members": 1,
    "ema_decay": 0.0,
    "adv_eps": 0.0,
    "distill": 0.0,
    "fp16_embeddings": False,
    "split": "random",
    "hashtags": False,
    "elongations": False,
    "emoticons": False,
    "negation": False,
    "negation_flip": False,
    "negation_augment": 0.0,
    "emoji": False,
    "lexicons": "",
    "vectors": "none",
    "extend_vocab": 0,
    "ngram_branch": "none",
    "class_bias": False,
}


MACHINE_FIELDS = ("data_dir", "threads", "device")  # where and how a run ran, not what it trains


def recipe_digest(cfg: TrainConfig) -> str:
    """Six hex digits of the sha256 of every field but MACHINE_FIELDS: part of the default model version, so two
    recipes on the same data and seed never share a version string."""
    fields_ = {k: v for k, v in cfg.to_dict().items() if k not in MACHINE_FIELDS}
    return hashlib.sha256(json.dumps(fields_, sort_keys=True).encode()).hexdigest()[:6]


def default_version(name: str, data_sha256: str, cfg: TrainConfig) -> str:
    """<name>-<data hash>-<recipe digest>-s<seed>."""
    return f"{name}-{data_sha256[:8]}-{recipe_digest(cfg)}-s{cfg.seed}"


def config_from_saved(saved: dict[str, Any]) -> TrainConfig:
    """The TrainConfig a manifest or checkpoint recorded: unknown keys dropped, later-added fields as they were."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in {**LEGACY_VALUES, **saved}.items() if k in known})


@lru_cache(maxsize=1)
def field_comments() -> dict[str, str]:
    """Field name -> its trailing comment in the TrainConfig source: the one description of a field, shown by
    ``sentiment train --help``."""
    source = inspect.getsource(TrainConfig)
    tree = ast.parse(source)
    lines = source.splitlines()
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = lines[node.lineno - 1]
            if "#" in line:
                out[node.target.id] = line.split("#", 1)[1].strip()
    return out


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
        text = f"{comments.get(f.name, '')} (default: {default})".replace("%", "%%")
        if isinstance(default, bool):
            group.add_argument(flag, type=_bool, default=default, metavar="BOOL", help=text)
        else:
            group.add_argument(flag, type=type(default), default=default, help=text)


def feature_config(cfg: TrainConfig) -> FeatureConfig:
    """The serving-side feature settings a config trains with (stored in the manifest)."""
    return FeatureConfig(
        cfg.max_len, cfg.subword_buckets, cfg.ngram_min, cfg.ngram_max, cfg.max_ngrams, int(cfg.negation)
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
