"""Training loop: bucketed batches, class-weighted loss, gradient clipping, early stopping on val AvgRec,
temperature scaling on validation. Returns everything the exporter needs."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from service.core.evaluation import evaluate_predictions, expected_calibration_error
from service.core.features import Encoded, Encoder, collate
from service.core.labels import LABELS
from service.core.predictor import forward_sorted
from service.core.tokenizer import SPECIAL_TOKENS, Tokenizer, TokenizerOptions
from training.bias import fit_class_bias
from training.config import TrainConfig, feature_config
from training.data import Example, Splits
from training.model import Ensemble, SentimentRNN, compact_embeddings
from training.vocab import build_vocab


@dataclass
class Tensors:
    """A split encoded once by the serving encoder (service.core.features.Encoder), padded per batch."""

    encoded: list[Encoded]
    labels: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.encoded)


@dataclass
class TrainResult:
    model: SentimentRNN | Ensemble
    itos: list[str]
    cfg: TrainConfig
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    n_trained: int = 0  # rows of the trainable word table (the rest of itos are frozen extension rows)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_tokenizer(cfg: TrainConfig) -> Tokenizer:
    """The tokenizer a config asks for; the word table (wordsegment's counts) only when an option reads it."""
    options = TokenizerOptions(hashtags=cfg.hashtags, elongations=cfg.elongations, emoticons=cfg.emoticons)
    if not options.needs_words():
        return Tokenizer(options)
    from training.wordcounts import word_counts

    return Tokenizer(options, word_counts(cfg.word_table))


def numericalise(examples: list[Example], encoder: Encoder) -> Tensors:
    """Encode with the serving Encoder itself (tokenizer, vocabulary, char n-grams, negation marker)."""
    return Tensors([encoder.encode(ex.text) for ex in examples], torch.tensor([ex.label for ex in examples]))


def pad_batch(t: Tensors, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """word (B,T), sub (B,T,S), lengths (B,): the serving collate."""
    return collate([t.encoded[i] for i in idx])


def bucketed_batches(t: Tensors, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length inside chunks of 50 batches (less padding), then shuffle the batches."""
    idx = list(range(len(t)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: t.encoded[i].length)
        batches += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def class_weights(labels: torch.Tensor, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = torch.bincount(labels, minlength=len(LABELS)).float()
    w = counts.sum() / (len(LABELS) * counts)
    return w.sqrt() if mode == "sqrt" else w


class DistillLoss(nn.Module):
    """(1 - a) * the hard-label loss + a * cross-entropy against a teacher's probabilities (B, C), each text
    weighted by its gold class's weight, as the hard-label loss is."""

    def __init__(self, hard: nn.Module, teacher: torch.Tensor, weights: torch.Tensor | None, alpha: float) -> None:
        super().__init__()
        self.hard, self.teacher, self.weights, self.alpha = hard, teacher, weights, alpha

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        soft = -(self.teacher * torch.log_softmax(logits, dim=1)).sum(dim=1)  # (B,)
        w = torch.ones_like(soft) if self.weights is None else self.weights.to(soft.device)[y]  # (B,)
        return (1 - self.alpha) * self.hard(logits, y) + self.alpha * (w * soft).sum() / w.sum()


def teacher_probs(splits: Splits, cfg: TrainConfig) -> torch.Tensor:
    """The TF-IDF + LR baseline's probabilities on the training split (N, C), cached under build/cache by a hash
    of the training texts and labels (fitting takes a few minutes on one core)."""
    from training.baselines import tfidf_train_probs  # scikit-learn: imported only when distilling

    texts, labels = [ex.text for ex in splits.train], [ex.label for ex in splits.train]
    key = hashlib.sha256(json.dumps([texts, labels]).encode()).hexdigest()[:16]
    cache = Path(__file__).resolve().parent.parent / "build" / "cache" / f"tfidf-train-probs-{key}.npy"
    if cache.exists():
        probs = np.load(cache, allow_pickle=False)
    else:
        t0 = time.time()
        tqdm.write("fitting the TF-IDF + LR teacher for distillation ...", file=sys.stderr)
        probs = tfidf_train_probs(texts, labels)
        tqdm.write(f"teacher fitted in {time.time() - t0:.0f}s", file=sys.stderr)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs, allow_pickle=False)
    return torch.from_numpy(probs).float()


def adversarial_step(
    model: SentimentRNN,
    loss_fn: nn.Module,
    word: torch.Tensor,
    sub: torch.Tensor,
    lengths: torch.Tensor,
    y: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    """Adversarial training on the embeddings (Miyato et al., 2017): backpropagate the clean loss, then the loss
    of the same batch with the embeddings pushed by eps along their own gradient (L2-normalised per text).
    Accumulates both gradients; returns the clean loss. The linear branch, if any, sees only the clean pass."""
    x = model.embed(word, sub)  # (B, T, E)
    x.retain_grad()
    loss = loss_fn(model.logits_from_embedded(x, word, sub, lengths), y)
    loss.backward(retain_graph=True)
    assert x.grad is not None
    g = x.grad.detach()  # (B, T, E)
    r = eps * g / g.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)  # (B, T, E), |r| = eps per text
    loss_fn(model.classify(x + r, word, sub, lengths), y).backward()
    return loss.detach()


class EMA:
    """Exponential moving average of the weights (Polyak averaging), with the usual warm-up of the decay so
    that the random initialisation does not linger: decay_t = min(decay, (1 + t) / (10 + t))."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model)
        self.decay, self.steps = decay, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for avg, p in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.mul_(d).add_(p.detach(), alpha=1 - d)


def predict_logits(model: nn.Module, t: Tensors, device: torch.device, batch_size: int = 512) -> torch.Tensor:
    """Unscaled class scores (N, C) of a split, through the serving loop (length-sorted chunks)."""
    model.eval()
    return torch.from_numpy(forward_sorted(model.logits, t.encoded, batch_size, device, len(LABELS)))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature minimising validation NLL (LBFGS on log T)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)
    nll = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nll(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.exp().clamp(0.05, 20.0))


def split_metrics(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> dict[str, Any]:
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    m = evaluate_predictions(labels.tolist(), probs.argmax(axis=1).tolist())
    m["ece"] = expected_calibration_error(probs, labels.tolist())
    m["nll"] = float(nn.functional.cross_entropy(logits / temperature, labels))
    return m


@dataclass
class Prepared:
    """A split's vocabulary, tables and numericalised tensors, built once and shared by every ensemble member."""

    itos: list[str]  # trained rows first, then the frozen extension rows (lexicon and GloVe words)
    n_trained: int  # rows of the trainable embedding table
    tokenizer: Tokenizer
    train: Tensors
    val: Tensors
    test: Tensors
    vectors: torch.Tensor | None  # (V, 50) GloVe rows, or None
    lexicon: torch.Tensor | None  # (V, L) prior polarities, or None
    coverage: dict[str, float]  # OOV rates and table hits (reported in the manifest)


def extension_words(cfg: TrainConfig) -> list[str]:
    """Words given frozen vocabulary rows beyond the training vocabulary: every lexicon entry, then GloVe's most
    frequent words (cfg.extend_vocab of them)."""
    words: list[str] = []
    if cfg.lexicon_names():
        from training.lexicons import lexicon_words

        words += lexicon_words(cfg.lexicon_names())
    if cfg.extend_vocab > 0:
        from training.vectors import frequent_words

        words += frequent_words(cfg.extend_vocab)
    return words


def prepare(splits: Splits, cfg: TrainConfig) -> Prepared:
    tokenizer = make_tokenizer(cfg)
    train_tokens = [tokenizer.tokenize(ex.text)[: cfg.max_len] for ex in splits.train]
    itos = build_vocab(train_tokens, cfg.min_freq).get_itos()
    n_trained = len(itos)
    known = set(itos)
    for w in extension_words(cfg):
        if w not in known:
            known.add(w)
            itos.append(w)
    encoder = Encoder(itos, feature_config(cfg), tokenizer)
    train_t, val_t, test_t = (numericalise(s, encoder) for s in (splits.train, splits.val, splits.test))
    test_tokens = [tokenizer.tokenize(ex.text)[: cfg.max_len] for ex in splits.test]
    skip = frozenset(SPECIAL_TOKENS)
    from training.vectors import oov_rate

    coverage = {
        "vocab_trained": n_trained,
        "vocab_total": len(itos),
        "test_oov_trained_vocab": oov_rate(test_tokens, dict.fromkeys(itos[:n_trained]), skip),
        "test_oov": oov_rate(test_tokens, encoder.stoi, skip),
    }
    vectors = lexicon = None
    if cfg.vectors != "none":
        from training.vectors import vector_table

        table, hits = vector_table(itos)
        vectors = torch.from_numpy(table)
        coverage["vector_rows"] = hits
        with_vec = {t for t, row in zip(itos, table, strict=True) if row.any()}
        coverage["test_tokens_without_vector"] = oov_rate(test_tokens, dict.fromkeys(with_vec), skip)
    if cfg.lexicon_names():
        from training.lexicons import lexicon_table

        lex = lexicon_table(itos, cfg.lexicon_names())
        lexicon = torch.from_numpy(lex)
        coverage["lexicon_rows"] = int((lex > 0).any(axis=1).sum())
    tqdm.write(f"vocabulary: {json.dumps({k: round(v, 4) for k, v in coverage.items()})}", file=sys.stderr)
    return Prepared(itos, n_trained, tokenizer, train_t, val_t, test_t, vectors, lexicon, coverage)


def train(splits: Splits, cfg: TrainConfig, progress: bool = True) -> TrainResult:
    """One model, or with cfg.members > 1 that many (seeds seed, seed + 1, ...) averaged as one Ensemble."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
        with contextlib.suppress(RuntimeError):  # only settable before any parallel work in the process
            torch.set_num_interop_threads(cfg.threads)
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
    return TrainResult(model, data.itos, cfg, metrics, history, data.tokenizer, data.n_trained)


def share_frozen_tables(members: list[SentimentRNN]) -> None:
    """Point every member's frozen GloVe and lexicon buffers at the first member's (equal values: the same data):
    TorchScript stores a shared tensor once, so an ensemble carries its frozen tables once."""
    first = members[0]
    for m in members[1:]:
        for name in ("vectors", "lexicon"):
            if name in m._buffers and torch.equal(m._buffers[name], first._buffers[name]):
                m._buffers[name] = first._buffers[name]


def decide(
    model: nn.Module, val_logits: torch.Tensor, test_logits: torch.Tensor, val_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit the per-class logit bias on validation (the decision rule for macro recall), store it in the model
    (added inside logits()) and return the biased validation and test logits."""
    bias = torch.from_numpy(fit_class_bias(val_logits.numpy(), val_labels.numpy())).float()  # (C,)
    model.class_bias.copy_(bias)
    return val_logits + bias, test_logits + bias


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
    return TrainResult(model, itos, cfg, metrics, history, data.tokenizer, data.n_trained)
