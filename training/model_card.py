"""Generate docs/model-card.md and its plots from a model directory (run after training/export).

    python -m training.model_card                   # for models/default
    python -m training.model_card --model build/runs/gru --out docs
    python -m training.model_card --before docs/behaviour-before.json --temporal-card model-card-temporal.md

Plots: training curves (train/val loss, val AvgRec, gradient norm before clipping, per epoch), confusion
matrix, reliability diagram before/after temperature scaling. Failure modes: the SemEval 2014 sarcasm file
and hand-written negation probes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from service.core.artifact import load_artifact
from service.core.evaluation import evaluate_records, expected_calibration_error
from service.core.manifest import DEFAULT_MODEL_DIR
from service.core.predictor import Predictor
from service.core.semeval import read_semeval
from training.card_plots import plot_confusion, plot_curves, plot_reliability
from training.card_sections import (
    LICENCES,
    NEGATION_PROBES,
    describe,
    protocol_text,
    random_run_section,
    table,
    variants_section,
)
from training.config import TrainConfig, config_from_saved
from training.data import SARCASM_FILE, load_splits

REPO = Path(__file__).resolve().parent.parent


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


def build_card(model_dir: Path, out_dir: Path, random_run: Path | None = None, name: str = "model-card.md") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    met = manifest["metrics"]
    test, val = met["test"], met["validation"]
    part, split_text = protocol_text(manifest)
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
    arch, training_notes = describe(cfg, members)
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
        member_table = f"\n\nMembers ({part} AvgRec alone, before averaging and before the class bias):\n" + table(
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
{table(compare, ["model", "AvgRec", "F1PN", "accuracy"])}

Validation: AvgRec {val["avg_recall"]:.4f}, F1PN {val["f1_pn"]:.4f}. Baselines are computed by
`python -m training.baselines --split {"temporal" if temporal else "random"}` with the same split and the same
metric code (service/core/evaluation.py).
{random_run_section(random_run)}
Per class:
{table(per_class, ["class", "precision", "recall", "F1", "support"])}

![confusion matrix](model-card-confusion.png)

## Training curves
![training curves](model-card-curves.png)

## Calibration
Expected calibration error (15 bins) on the {part}: **{ece_before:.4f} before**, **{ece_after:.4f} after**
temperature scaling (T = {manifest["temperature"]:.3f}).

![reliability diagram](model-card-calibration.png)
{variants_section(model_dir)}
## External data and licences
Training-time packages (the `training` extra); what the model needs from them is copied into the artifact.
{table(licence_rows, ["data", "package", "file(s)", "licence"])}

Share-alike terms (ODbL for AFINN, CC BY-SA for the Emoji Sentiment Ranking) apply to the lexicon rows derived from
them in `model.pt`; attribution: AFINN by Finn Årup Nielsen, the Emoji Sentiment Ranking by P. Kralj Novak,
J. Smailović, B. Sluban and I. Mozetič, VADER by C.J. Hutto and E. Gilbert, GloVe by J. Pennington, R. Socher and
C. D. Manning.

## Known failure modes
- **Sarcasm** ({SARCASM_FILE}, n = {sarcasm["n"]}): AvgRec {sarcasm["avg_recall"]:.3f}, accuracy
  {sarcasm["accuracy"]:.3f} — far below the in-domain figures: sarcastic praise is read literally.
- **Negation** (hand-written probes):
{
        table(
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
    path = out_dir / name
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.model_card", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    p.add_argument("--out", default=str(REPO / "docs"), help="output directory (default: docs/)")
    p.add_argument("--random-run", default=None, help="the same recipe trained with --split random (its figures)")
    p.add_argument("--name", default="model-card.md", help="file name of the card in --out (default: model-card.md)")
    p.add_argument(
        "--before",
        default=None,
        help="final models: `sentiment evaluate --behaviour --json` of the previous default (the 'before' column)",
    )
    p.add_argument(
        "--temporal-card", default=None, help="final models: the card of the recipe's temporal run, to link to"
    )
    args = p.parse_args(argv)
    model_dir = Path(args.model).resolve()
    protocol = json.loads((model_dir / "manifest.json").read_text())["data"]["split"].get("protocol")
    if protocol == "final":
        from training.card_final import build_final_card

        before = Path(args.before) if args.before else None
        print(build_final_card(model_dir, Path(args.out), before, args.temporal_card))
        return 0
    random_run = Path(args.random_run).resolve() if args.random_run else None
    print(build_card(model_dir, Path(args.out), random_run, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
