"""`sentiment train` (also `python -m training`): train, calibrate, evaluate and export a model.

sentiment train                       # reproduces models/default: cross-fit, then fit on every tweet (seed 13)
sentiment train --split temporal      # the protocol every choice is made on (train older, val/test 2016test)
sentiment train --split random        # the same recipe on the random 80/10/10 split of the pool
sentiment train --dry-run --out /tmp/m  # one short epoch on ~3,000 tweets, for CI
sentiment train --hidden-dim 64 --pooling max --name small
sentiment train --write-splits build/splits   # only write train/val/test TSVs and exit
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.config import add_config_args, config_from_args, default_version

REPO = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sentiment train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", default="default", help="model name; the artifact goes to OUT/NAME (default: default)")
    p.add_argument("--out", default=str(REPO / "models"), help="parent directory of the artifact (default: models/)")
    p.add_argument(
        "--version", default=None, help="model version string (default: <name>-<data hash>-<recipe digest>-s<seed>)"
    )
    p.add_argument("--dry-run", action="store_true", help="one epoch on 3,000 tweets: checks the pipeline quickly")
    p.add_argument("--write-splits", metavar="DIR", help="write train/validation/test TSVs to DIR and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--no-compare", action="store_true", help="--split final: skip the comparison fits (~1/3 of the time)"
    )
    p.add_argument(
        "--int8", action="store_true", help="also write the int8 variant (model-int8.pt; = python -m training.quantize)"
    )
    add_config_args(p)
    return p


def split_info(cfg) -> dict:
    """The manifest's description of the split protocol (training.data, training.crossfit)."""
    if cfg.split == "final":
        from training.data import TEMPORAL_FILE

        return {
            "protocol": "final",
            "train": "every labelled tweet of 2013-2016 but the sarcasm probe",
            "calibration": f"out-of-fold predictions of {TEMPORAL_FILE}: each id-hash half predicted by a model "
            "trained on the older files and the other half",
            "epochs": cfg.final_epochs,
            "limit": cfg.limit,
        }
    if cfg.split == "temporal":
        from training.data import TEMPORAL_FILE

        return {
            "protocol": "temporal",
            "train": f"every file but {TEMPORAL_FILE} and the sarcasm probe",
            "validation": f"{TEMPORAL_FILE}, ids whose sha256 ends in an even byte",
            "test": f"{TEMPORAL_FILE}, ids whose sha256 ends in an odd byte",
            "limit": cfg.limit,
        }
    return {
        "protocol": "random",
        "seed": cfg.split_seed,
        "val_fraction": cfg.val_fraction,
        "test_fraction": cfg.test_fraction,
        "stratified_by": "label",
        "limit": cfg.limit,
    }


def data_info(cfg, data) -> dict:
    """The manifest's description of the data (`data`: the Splits or TemporalFolds the model was trained from)."""
    return {
        "sha256": data.data_sha256,
        "source": "semeval2017-task4a (2013-2016, sarcasm file excluded)",
        "duplicate_rows": data.n_duplicates,
        "conflicting_ids_dropped": data.n_conflicts,
        "split": split_info(cfg),
    }


def export_result(args, cfg, result, version: str, info: dict, parity: list[str], extra_metrics=None) -> Path:
    from training.export import export

    return export(
        result.model,
        result.itos,
        cfg,
        Path(args.out) / args.name,
        name=args.name,
        version=version,
        metrics=result.metrics,
        data_info=info,
        parity_texts=parity,
        tokenizer=result.tokenizer,
        extra_metrics=extra_metrics,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    if args.dry_run:
        cfg.limit, cfg.epochs, cfg.patience, cfg.final_epochs = cfg.limit or 3000, 1, 1, 1
    if cfg.split == "final" and args.write_splits:
        cfg.split = "temporal"  # the parts every choice is made on (the final fit has no held-out part)
    if cfg.split == "final":
        if cfg.final_epochs < 1 or not 0.0 <= cfg.negation_augment <= 1.0:
            print("error: --final-epochs must be at least 1 and --negation-augment within 0..1", file=sys.stderr)
            return 2
        return train_final(args, cfg)
    from training.data import load_splits, write_tsv

    try:
        splits = load_splits(
            cfg.data_dir, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, cfg.limit, protocol=cfg.split
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"data ({cfg.split} split): {len(splits.train)} train / {len(splits.val)} validation / {len(splits.test)} test "
        f"({splits.n_duplicates} duplicate rows removed, {splits.n_conflicts} ids with conflicting labels dropped)",
        file=sys.stderr,
    )
    if args.write_splits:
        out = Path(args.write_splits)
        for part in ("train", "val", "test"):
            write_tsv(getattr(splits, part), out / f"{part}.tsv")
        print(f"wrote {out}/train.tsv, val.tsv, test.tsv", file=sys.stderr)
        return 0

    from training.train import train

    result = train(splits, cfg, progress=not args.no_progress)
    version = args.version or default_version(args.name, splits.data_sha256, cfg)
    result.metrics["history"] = result.history
    parity = [ex.text for ex in splits.val[:256]]
    path = export_result(args, cfg, result, version, data_info(cfg, splits), parity)
    int8: dict = {}
    if args.int8:
        from training.quantize import add_int8_variant

        int8 = add_int8_variant(
            path,
            result.model,
            [e.text for e in splits.test],
            [e.label for e in splits.test],
            [e.text for e in splits.val],
        )
        print(
            f"int8 variant: test AvgRec {int8['avg_recall']} (fp32 {int8['fp32_avg_recall']}, "
            f"delta {int8['avg_recall_delta']:+}); opt-in with --precision int8 "
            f"({path / 'model-int8.pt'}: derived, not committed; `sentiment quantize {path}` rebuilds it)",
            file=sys.stderr,
        )
    t = result.metrics["test"]
    summary = {
        "model_dir": str(path),
        "version": version,
        "test_avg_recall": t["avg_recall"],
        "test_f1_pn": t["f1_pn"],
        "test_accuracy": t["accuracy"],
        "val_avg_recall": result.metrics["validation"]["avg_recall"],
        "temperature": result.metrics["temperature"],
        "ece_before": result.metrics["test_uncalibrated"]["ece"],
        "ece_after": t["ece"],
        "best_epoch": result.metrics["best_epoch"],
        "train_seconds": round(result.metrics["train_seconds"]),
        **({"int8_avg_recall_delta": int8["avg_recall_delta"]} if int8 else {}),
    }
    print(json.dumps(summary, indent=2))
    return 0


def train_final(args: argparse.Namespace, cfg) -> int:
    """--split final: cross-fit (the estimate and the calibration), then fit on every tweet and export."""
    from training.crossfit import crossfit_and_fit

    try:
        result, folds = crossfit_and_fit(cfg, progress=not args.no_progress, compare=not args.no_compare)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    version = args.version or default_version(args.name, folds.data_sha256, cfg)
    from training.behaviour_report import behaviour_metrics

    parity = [ex.text for ex in folds.halves[0][:256]]
    path = export_result(
        args, cfg, result, version, data_info(cfg, folds), parity, lambda d: behaviour_metrics(d, folds)
    )
    if args.int8:  # agreement of the int8 variant with fp32 on the newest file's tweets (all were trained on)
        from training.quantize import add_int8_variant

        h0, h1 = folds.halves
        add_int8_variant(path, result.model, [e.text for e in h1], [e.label for e in h1], [e.text for e in h0])
    cf = result.metrics["crossfit"]
    summary = {
        "model_dir": str(path),
        "version": version,
        "trained_on": result.metrics["trained_on"]["tweets"],
        "oof_avg_recall": cf["calibrated"]["avg_recall"],
        "oof_f1_pn": cf["calibrated"]["f1_pn"],
        "oof_avg_recall_without_newer": cf.get("recipe_without_newer", {}).get("calibrated", {}).get("avg_recall"),
        "temperature": result.metrics["temperature"],
        "seconds": result.metrics["crossfit_seconds"],
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
