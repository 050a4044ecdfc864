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

from training.config import TrainConfig

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
    "adv1-ema-s2": ("EMA 0.999 + adversarial eps 1.0, seed 2", ["--ema-decay", "0.999", "--adv-eps", "1.0", "--seed", "2"]),
    "adv03-ema": ("EMA 0.999 + adversarial embeddings, eps 0.3", ["--ema-decay", "0.999", "--adv-eps", "0.3"]),
    "adv03-ema-s2": ("EMA 0.999 + adversarial eps 0.3, seed 2", ["--ema-decay", "0.999", "--adv-eps", "0.3", "--seed", "2"]),
    # post-hoc compositions (python -m training.ensemble ...), listed for the table
    "base-bias": ("base + validation-fitted class bias (training.ensemble build/runs/base)", []),
    "ens3": ("ensemble base+reg+reglinear, class bias (training.ensemble)", []),
    "ens-base-reglinear": ("ensemble base+reglinear, class bias (training.ensemble)", []),
    "1layer-ens3": ("ensemble of the 1-layer runs with seeds 13, 2, 3, class bias (training.ensemble)", []),
    "seed2": ("default config, seed 2", ["--seed", "2"]),
    "seed3": ("default config, seed 3", ["--seed", "3"]),
}


def run(names: list[str]) -> None:
    for name in names:
        desc, overrides = EXPERIMENTS[name]
        cmd = [sys.executable, "-m", "training", "--name", name, "--out", str(RUNS), "--no-progress", *overrides]
        print(f"== {name}: {desc}\n   {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True, cwd=REPO)


def report(out: Path) -> str:
    defaults = TrainConfig().to_dict()
    rows = []
    for manifest_path in sorted(RUNS.glob("*/manifest.json")):
        m = json.loads(manifest_path.read_text())
        name = m["name"]
        cfg = m["config"]
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
