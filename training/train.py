"""Training loop: bucketed batches, class-weighted loss, gradient clipping, early stopping on val AvgRec,
temperature scaling on validation. Returns everything the exporter needs. The pieces live beside it: batches.py
(encoding and batching), prepare.py (vocabulary and tables), objectives.py (losses, adversarial step, EMA),
calibration.py (split scoring, class bias, temperature, metrics)."""

from __future__ import annotations

import contextlib
import copy
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from service.core.labels import LABELS
from service.core.tokenizer import Tokenizer
from training.batches import bucketed_batches, pad_batch
from training.calibration import decide, fit_temperature, predict_logits, split_metrics
from training.config import TrainConfig
from training.data import Splits
from training.model import Ensemble, SentimentRNN, compact_embeddings
from training.objectives import EMA, DistillLoss, adversarial_step, class_weights, teacher_probs
from training.prepare import Prepared, prepare


@dataclass
class TrainResult:
    model: SentimentRNN | Ensemble
    itos: list[str]
    cfg: TrainConfig
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    n_trained: int = 0  # rows of the trainable word table (the rest of itos are frozen extension rows)
    val_logits: torch.Tensor | None = None  # (N, C) of the validation part before class bias and temperature


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(splits: Splits, cfg: TrainConfig, progress: bool = True) -> TrainResult:
    """One model, or with cfg.members > 1 that many (seeds seed, seed + 1, ...) averaged as one Ensemble."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
        with contextlib.suppress(RuntimeError):  # only settable before any parallel work in the process
            torch.set_num_interop_threads(cfg.threads)
    if cfg.negation_augment > 0:  # counterfactual negated copies of training tweets (never of evaluation tweets)
        from training.augment import negation_counterfactuals

        extra = negation_counterfactuals(splits.train, cfg.negation_augment, cfg.split_seed)
        tqdm.write(
            f"negation counterfactuals: {len(extra)} added to {len(splits.train)} training tweets", file=sys.stderr
        )
        splits = replace(splits, augmented=extra)  # trained on, but not part of the vocabulary's counts
    data = prepare(splits, cfg)
    teacher = teacher_probs(splits, cfg) if cfg.distill > 0 else None  # (N, C) or None
    if cfg.members <= 1:
        return train_one(data, cfg, teacher, progress)
    results = []
    for k in range(cfg.members):
        # one temperature and one class bias, on the mean
        member_cfg = replace(cfg, seed=cfg.seed + k, members=1, calibrate=False, class_bias=False)
        tqdm.write(f"ensemble member {k + 1}/{cfg.members} (seed {member_cfg.seed})", file=sys.stderr)
        results.append(train_one(data, member_cfg, teacher, progress))
    share_frozen_tables([r.model for r in results])
    model = Ensemble([r.model for r in results]).eval()
    if len(data.val) == 0:  # a fit on every labelled tweet: calibrated by the caller (training/crossfit.py)
        return TrainResult(model, data.itos, cfg, _fit_only_metrics(data, results), [], data.tokenizer, data.n_trained)
    cpu = torch.device("cpu")
    val_logits, test_logits = predict_logits(model, data.val, cpu), predict_logits(model, data.test, cpu)
    unbiased_val, unbiased_test = val_logits.clone(), test_logits.clone()
    if cfg.class_bias:
        val_logits, test_logits = decide(model, val_logits, test_logits, data.val.labels)
    temperature = fit_temperature(val_logits, data.val.labels) if cfg.calibrate else 1.0
    model.temperature.fill_(temperature)
    members = [
        {
            "seed": r.cfg.seed,
            "best_epoch": r.metrics["best_epoch"],
            "temperature": r.metrics["temperature"],
            "val_avg_recall": r.metrics["validation"]["avg_recall"],
            "test_avg_recall": r.metrics["test"]["avg_recall"],
            "train_seconds": r.metrics["train_seconds"],
        }
        for r in results
    ]
    history = [{**row, "member": k} for k, r in enumerate(results) for row in r.history]
    metrics = _metrics(val_logits, test_logits, data, temperature, results[0].metrics["best_epoch"], history)
    metrics["validation_unbiased"] = split_metrics(unbiased_val, data.val.labels, 1.0)
    metrics["test_unbiased"] = split_metrics(unbiased_test, data.test.labels, 1.0)
    metrics["class_bias"] = dict(zip(LABELS, model.class_bias.tolist(), strict=True))
    metrics["members"] = members
    return TrainResult(model, data.itos, cfg, metrics, history, data.tokenizer, data.n_trained, unbiased_val)


def share_frozen_tables(members: list[SentimentRNN]) -> None:
    """Point every member's frozen GloVe and lexicon buffers at the first member's (equal values: the same data):
    TorchScript stores a shared tensor once, so an ensemble carries its frozen tables once."""
    first = members[0]
    for m in members[1:]:
        own, theirs = dict(m.named_buffers(recurse=False)), dict(first.named_buffers(recurse=False))
        for name in ("vectors", "lexicon"):
            if name in own and name in theirs and torch.equal(own[name], theirs[name]):
                m.register_buffer(name, theirs[name])  # replaces the equal copy: one tensor for both


def _fit_only_metrics(data: Prepared, results: list[TrainResult]) -> dict[str, Any]:
    """What a fit without a validation part can report: sizes, time, vocabulary coverage, per-member history."""
    history = [{**row, "member": k} for k, r in enumerate(results) for row in r.history]
    return {
        "splits": {"train": len(data.train), "validation": 0, "test": 0},
        "train_seconds": sum(r["seconds"] for r in history),
        "vocabulary": data.coverage,
        "members": [{"seed": r.cfg.seed, "train_seconds": r.metrics["train_seconds"]} for r in results],
        "history": history,
    }


def _metrics(
    val_logits: torch.Tensor,
    test_logits: torch.Tensor,
    data: Prepared,
    temperature: float,
    best_epoch: int,
    history: list[dict[str, float]],
) -> dict[str, Any]:
    return {
        "best_epoch": best_epoch,
        "temperature": temperature,
        "validation": split_metrics(val_logits, data.val.labels, temperature),
        "test": split_metrics(test_logits, data.test.labels, temperature),
        "test_uncalibrated": split_metrics(test_logits, data.test.labels, 1.0),
        "splits": {"train": len(data.train), "validation": len(data.val), "test": len(data.test)},
        "train_seconds": sum(r["seconds"] for r in history),
        "vocabulary": data.coverage,
    }


def train_one(data: Prepared, cfg: TrainConfig, teacher: torch.Tensor | None, progress: bool = True) -> TrainResult:
    seed_everything(cfg.seed)
    device = torch.device(
        "cuda"
        if cfg.device == "auto" and torch.cuda.is_available()
        else ("cpu" if cfg.device == "auto" else cfg.device)
    )
    itos, train_t, val_t = data.itos, data.train, data.val
    if cfg.adv_eps > 0 and cfg.ngram_branch != "none":
        raise ValueError("adversarial training (--adv-eps) is not combined with --ngram-branch")
    model = SentimentRNN(len(itos), cfg, len(LABELS), data.n_trained)
    model.set_tables(data.vectors, data.lexicon)
    model.word_dropout = cfg.word_dropout
    model = model.to(device)
    weights = class_weights(train_t.labels, cfg.class_weighting)
    loss_fn = nn.CrossEntropyLoss(
        weight=None if weights is None else weights.to(device), label_smoothing=cfg.label_smoothing
    )
    vector_params = [model.vectors] if isinstance(model.vectors, nn.Parameter) else []
    rest = [p for p in model.parameters() if all(p is not v for v in vector_params)]
    groups: list[dict[str, Any]] = [{"params": rest}]
    if vector_params:
        groups.append({"params": vector_params, "lr": cfg.lr * cfg.vectors_lr})
    opt = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched: Any = None
    if cfg.lr_schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1)
    elif cfg.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)

    ema = EMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    rng = random.Random(cfg.seed)
    best_state, best_score, best_epoch, stale = None, -1.0, 0, 0
    history: list[dict[str, float]] = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0 = time.time()
        total_loss, grad_norms, n_seen = 0.0, [], 0
        batches = bucketed_batches(train_t, cfg.batch_size, rng)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch}/{cfg.epochs}",
            unit="batch",
            disable=not progress,
            dynamic_ncols=True,
            leave=True,
        )
        for idx in bar:
            word, sub, lengths = pad_batch(train_t, idx)  # word dropout happens inside model.embed
            y = train_t.labels[idx].to(device)
            opt.zero_grad(set_to_none=True)
            batch_loss = loss_fn
            if teacher is not None:
                batch_loss = DistillLoss(loss_fn, teacher[idx].to(device), weights, cfg.distill)
            if cfg.adv_eps > 0:
                loss = adversarial_step(model, batch_loss, word.to(device), sub.to(device), lengths, y, cfg.adv_eps)
            elif cfg.ngram_branch == "average":  # each branch learns on its own loss; they are averaged in logits()
                w, s_ = word.to(device), sub.to(device)
                rnn_out, ngram_out = model.branch_logits(model.embed(w, s_), w, s_, lengths)
                loss = batch_loss(rnn_out, y) + batch_loss(ngram_out, y)
                loss.backward()
            else:
                loss = batch_loss(model.logits(word.to(device), sub.to(device), lengths), y)
                loss.backward()
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm))  # norm before clipping
            opt.step()
            if ema is not None:
                ema.update(model)
            grad_norms.append(norm if math.isfinite(norm) else 0.0)
            total_loss += float(loss) * len(idx)
            n_seen += len(idx)
            bar.set_postfix(loss=f"{total_loss / n_seen:.4f}")
        scored = model if ema is None else ema.model  # the weights that would be exported
        if len(val_t) == 0 or cfg.patience <= 0:  # a fixed training length: no validation pass, keep the last
            history.append({"epoch": epoch, "train_loss": total_loss / max(n_seen, 1), "seconds": time.time() - t0})
            tqdm.write(f"epoch {epoch}: train_loss {history[-1]['train_loss']:.4f}  {history[-1]['seconds']:.0f}s",
                       file=sys.stderr)  # fmt: skip
            best_state, best_epoch = copy.deepcopy(scored.state_dict()), epoch
            continue
        val_logits = predict_logits(scored, val_t, device)
        vm = split_metrics(val_logits, val_t.labels)
        row = {
            "epoch": epoch,
            "train_loss": total_loss / max(n_seen, 1),
            "val_loss": vm["nll"],
            "val_avg_recall": vm["avg_recall"],
            "val_f1_pn": vm["f1_pn"],
            "grad_norm_mean": float(np.mean(grad_norms)) if grad_norms else 0.0,
            "grad_norm_max": float(np.max(grad_norms)) if grad_norms else 0.0,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.time() - t0,
        }
        history.append(row)
        tqdm.write(  # one line per epoch, with or without progress bars
            f"epoch {epoch}: train_loss {row['train_loss']:.4f}  val_loss {row['val_loss']:.4f}  "
            f"val AvgRec {row['val_avg_recall']:.4f}  F1PN {row['val_f1_pn']:.4f}  "
            f"grad_norm {row['grad_norm_mean']:.2f}  {row['seconds']:.0f}s",
            file=sys.stderr,
        )
        if vm["avg_recall"] > best_score:
            best_score, best_epoch, stale = vm["avg_recall"], epoch, 0
            best_state = copy.deepcopy(scored.state_dict())
        else:
            stale += 1
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(vm["avg_recall"])
        elif sched is not None:
            sched.step()
        if stale >= cfg.patience:
            tqdm.write(
                f"early stop: no val AvgRec gain for {cfg.patience} epochs (best epoch {best_epoch})", file=sys.stderr
            )
            break

    assert best_state is not None
    model.load_state_dict(best_state)
    model = model.cpu().eval()
    model.word_dropout = 0.0
    if cfg.fp16_embeddings:  # before any metric, so the metrics describe the exported weights
        compact_embeddings(model)
    if len(val_t) == 0:
        metrics = {"best_epoch": best_epoch, "train_seconds": sum(r["seconds"] for r in history)}
        return TrainResult(model, itos, cfg, metrics, history, data.tokenizer, data.n_trained)
    cpu = torch.device("cpu")
    val_logits, test_logits = predict_logits(model, val_t, cpu), predict_logits(model, data.test, cpu)
    unbiased_val, unbiased_test = val_logits.clone(), test_logits.clone()
    if cfg.class_bias:
        val_logits, test_logits = decide(model, val_logits, test_logits, val_t.labels)
    temperature = fit_temperature(val_logits, val_t.labels) if cfg.calibrate else 1.0
    model.temperature.fill_(temperature)
    metrics = _metrics(val_logits, test_logits, data, temperature, best_epoch, history)
    metrics["validation_unbiased"] = split_metrics(unbiased_val, val_t.labels, 1.0)
    metrics["test_unbiased"] = split_metrics(unbiased_test, data.test.labels, 1.0)
    metrics["class_bias"] = dict(zip(LABELS, model.class_bias.tolist(), strict=True))
    return TrainResult(model, itos, cfg, metrics, history, data.tokenizer, data.n_trained, unbiased_val)
