"""Run the accuracy experiments and tabulate every run (config, seed, val/test AvgRec and F1PN, time).

    python -m training.experiments run nosub gru      # train named experiments into build/runs/<name>
    python -m training.experiments report             # docs/experiments.md from build/runs/*/manifest.json

The report keeps the rows already in docs/experiments.md for runs that are no longer under build/runs (a fresh
checkout has none), so the table accumulates across machines and sessions.

Each experiment is the default TrainConfig with a few overrides, trained by `python -m training` (so a
run is exactly reproducible by its command line, printed in the table).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from training.config import LEGACY_VALUES, TrainConfig

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "build" / "runs"

EXPERIMENTS: dict[str, tuple[str, list[str]]] = {
    "base": (
        "default config: word+char-n-gram embeddings, 128 BiLSTM (2 layers until 2026-11-25), attn+max pooling",
        [],
    ),
    "nosub": ("no sub-word (char n-gram) features", ["--subword-buckets", "0"]),
    "gru": ("BiGRU of the same size", ["--rnn", "gru"]),
    "maxpool": ("max pooling only (no attention)", ["--pooling", "max"]),
    "attn": ("attention pooling only", ["--pooling", "attn"]),
    "1layer": ("one BiLSTM layer", ["--num-layers", "1"]),
    "smooth": ("label smoothing 0.1, sqrt class weights", ["--label-smoothing", "0.1", "--class-weighting", "sqrt"]),
    "noweight": ("no class weighting", ["--class-weighting", "none"]),
    "cosine": ("cosine learning-rate schedule", ["--lr-schedule", "cosine", "--epochs", "8"]),
    "wide": ("2x256 BiLSTM", ["--hidden-dim", "256"]),
    "reg": (
        "stronger regularisation: lr 1e-3, dropout 0.5, embedding dropout 0.3, word dropout 0.1",
        ["--lr", "1e-3", "--dropout", "0.5", "--embed-dropout", "0.3", "--word-dropout", "0.1"],
    ),
    "linear": ("+ linear bag-of-(word, char n-gram) branch added to the logits", ["--linear-branch", "true"]),
    "reglinear": (
        "reg + linear branch",
        [
            "--lr",
            "1e-3",
            "--dropout",
            "0.5",
            "--embed-dropout",
            "0.3",
            "--word-dropout",
            "0.1",
            "--linear-branch",
            "true",
        ],
    ),
    # one BiLSTM layer (the 1layer run beat the 2-layer default): its variance over seeds and its variants
    "1layer-s2": ("one BiLSTM layer, seed 2", ["--num-layers", "1", "--seed", "2"]),
    "1layer-s3": ("one BiLSTM layer, seed 3", ["--num-layers", "1", "--seed", "3"]),
    "1layer-maxpool": (
        "one BiLSTM layer, max pooling only (paused ~25 min mid-run: its time is not comparable)",
        ["--num-layers", "1", "--pooling", "max"],
    ),
    "1layer-gru": ("one BiGRU layer", ["--num-layers", "1", "--rnn", "gru"]),
    "1layer-smooth": (
        "one BiLSTM layer, label smoothing 0.1",
        ["--num-layers", "1", "--label-smoothing", "0.1"],
    ),
    "1layer-cosine": ("one BiLSTM layer, cosine schedule", ["--num-layers", "1", "--lr-schedule", "cosine"]),
    "1layer-wide": ("one BiLSTM layer of 256", ["--num-layers", "1", "--hidden-dim", "256"]),
    "1layer-ema": ("one BiLSTM layer, EMA of the weights (decay 0.999)", ["--ema-decay", "0.999"]),
    "1layer-ema-s2": ("one BiLSTM layer, EMA 0.999, seed 2", ["--ema-decay", "0.999", "--seed", "2"]),
    "1layer-ema-s3": ("one BiLSTM layer, EMA 0.999, seed 3", ["--ema-decay", "0.999", "--seed", "3"]),
    "adv1-ema": ("EMA 0.999 + adversarial embeddings, eps 1.0", ["--ema-decay", "0.999", "--adv-eps", "1.0"]),
    "adv1-ema-s2": (
        "EMA 0.999 + adversarial eps 1.0, seed 2",
        ["--ema-decay", "0.999", "--adv-eps", "1.0", "--seed", "2"],
    ),
    "adv03-ema": ("EMA 0.999 + adversarial embeddings, eps 0.3", ["--ema-decay", "0.999", "--adv-eps", "0.3"]),
    "adv03-ema-s2": (
        "EMA 0.999 + adversarial eps 0.3, seed 2",
        ["--ema-decay", "0.999", "--adv-eps", "0.3", "--seed", "2"],
    ),
    "distill05-ema": (
        "EMA 0.999 + distillation from the TF-IDF + LR baseline (weight 0.5)",
        ["--ema-decay", "0.999", "--distill", "0.5"],
    ),
    "distill05-ema-s2": (
        "EMA 0.999 + distillation from TF-IDF + LR (0.5), seed 2",
        ["--ema-decay", "0.999", "--distill", "0.5", "--seed", "2"],
    ),
    # small members for an ensemble at the serving cost of one 128-unit model
    "h64-ema": ("one BiLSTM layer of 64, EMA 0.999", ["--hidden-dim", "64", "--ema-decay", "0.999"]),
    "h64-ema-s2": (
        "one BiLSTM layer of 64, EMA 0.999, seed 2",
        ["--hidden-dim", "64", "--ema-decay", "0.999", "--seed", "2"],
    ),
    "h64-ema-s3": (
        "one BiLSTM layer of 64, EMA 0.999, seed 3",
        ["--hidden-dim", "64", "--ema-decay", "0.999", "--seed", "3"],
    ),
    "h32-ema": ("one BiLSTM layer of 32, EMA 0.999", ["--hidden-dim", "32", "--ema-decay", "0.999"]),
    # ensembles trained by one command (--members): the members' mean is one TorchScript module
    "h64x2-ema": (
        "2 x (one BiLSTM layer of 64, EMA 0.999), seeds 13 and 14: the forward cost of one 128-unit layer",
        ["--hidden-dim", "64", "--ema-decay", "0.999", "--members", "2"],
    ),
    "h32x3-ema": (
        "3 x (one BiLSTM layer of 32, EMA 0.999), seeds 13-15: the same forward cost as 2 x 64",
        ["--hidden-dim", "32", "--ema-decay", "0.999", "--members", "3"],
    ),
    "default": (
        "the committed models/default: `sentiment train` with no flags (3 x 32-unit members, EMA, fp16 tables)",
        ["--hidden-dim", "32", "--members", "3", "--ema-decay", "0.999", "--fp16-embeddings", "true"],
    ),
    # post-hoc compositions (python -m training.ensemble ...), listed for the table
    "base-bias": ("base + validation-fitted class bias (training.ensemble build/runs/base)", []),
    "ens3": ("ensemble base+reg+reglinear, class bias (training.ensemble)", []),
    "ens-base-reglinear": ("ensemble base+reglinear, class bias (training.ensemble)", []),
    "1layer-ens3": ("ensemble of the 1-layer runs with seeds 13, 2, 3, class bias (training.ensemble)", []),
    "seed2": ("default config, seed 2", ["--seed", "2"]),
    "seed3": ("default config, seed 3", ["--seed", "3"]),
}


# The experiments above were defined against the single-model defaults of their day (128 units, no ensemble, no
# weight averaging, float32 embedding tables); these flags pin them, so each still trains what its row in
# docs/experiments.md reports.
# An experiment's own flags come later on the command line and win.
SINGLE_MODEL = ["--hidden-dim", "128", "--members", "1", "--ema-decay", "0", "--fp16-embeddings", "false"]


def run(names: list[str]) -> None:
    for name in names:
        desc, overrides = EXPERIMENTS[name]
        cmd = [sys.executable, "-m", "training", "--name", name, "--out", str(RUNS), "--no-progress"]
        cmd += [*SINGLE_MODEL, *overrides]
        print(f"== {name}: {desc}\n   {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True, cwd=REPO)


def report(out: Path) -> str:
    defaults = TrainConfig().to_dict()
    rows = []
    for manifest_path in sorted(RUNS.glob("*/manifest.json")):
        m = json.loads(manifest_path.read_text())
        name = m["name"]
        cfg = {**LEGACY_VALUES, **m["config"]}
        changed = {k: v for k, v in cfg.items() if k in defaults and defaults[k] != v and k != "data_dir"}
        met = m["metrics"]
        rows.append(
            (
                met["test"]["avg_recall"],
                name,
                EXPERIMENTS.get(name, ("", []))[0],
                ", ".join(f"{k}={v}" for k, v in changed.items()) or "(defaults)",
                cfg["seed"],
                met["validation"]["avg_recall"],
                met["validation"]["f1_pn"],
                met["test"]["avg_recall"],
                met["test"]["f1_pn"],
                met["test_uncalibrated"]["ece"],
                met["test"]["ece"],
                met["best_epoch"],
                met["train_seconds"] / 60,
            )
        )
    kept = _earlier_rows(out, {r[1] for r in rows})
    rows.sort(key=lambda r: -r[0])
    lines = [
        "# Accuracy experiments",
        "",
        "Every run: `python -m training.experiments run NAME` (= `sentiment train` with the overrides shown),",
        "internal split of the deduplicated SemEval 2013-2016 pool (80/10/10, stratified, split seed 2017).",
        "Val = validation (early stopping, temperature); test = internal test (never tuned on).",
        "Times are wall-clock on the shared 2-core machine (other jobs were running: compare with care).",
        "Overrides are against today's defaults (3 x 32-unit members, weight averaging, fp16 tables) for runs under",
        "build/runs; rows carried over from earlier reports keep the overrides against the single-model defaults",
        "of their day (128 units, no ensemble, no EMA; 2 layers before 2026-11-25). `run NAME` pins those",
        "single-model flags first (SINGLE_MODEL in training/experiments.py), so every row still reproduces.",
        "",
        "| run | what | overrides | seed | val AvgRec | val F1PN | test AvgRec | test F1PN | ECE before | ECE after "
        "| best epoch | minutes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = [
        (
            r[0],
            f"| {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:.4f} | {r[6]:.4f} | {r[7]:.4f} | {r[8]:.4f} "
            f"| {r[9]:.4f} | {r[10]:.4f} | {r[11]} | {r[12]:.1f} |",
        )
        for r in rows
    ]
    table += kept
    table.sort(key=lambda x: -x[0])
    lines += [line for _, line in table]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    return text


def _earlier_rows(out: Path, fresh: set[str]) -> list[tuple[float, str]]:
    """(test AvgRec, table line) of the rows in an existing report whose run is not among `fresh`."""
    if not out.exists():
        return []
    kept = []
    for line in out.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 12 or cells[0] in ("run", "---") or cells[0] in fresh:
            continue
        try:
            kept.append((float(cells[6]), line))
        except ValueError:
            continue
    return kept


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.experiments", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train the named experiments")
    r.add_argument("names", nargs="+", choices=sorted(EXPERIMENTS))
    rep = sub.add_parser("report", help="write docs/experiments.md")
    rep.add_argument("--out", default=str(REPO / "docs" / "experiments.md"))
    args = p.parse_args(argv)
    if args.cmd == "run":
        run(args.names)
    else:
        print(report(Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
