"""The BiLSTM classifier. TorchScript-compatible (torch.jit.script), no training-only code in forward.

word ids (B,T) -> word embedding (B,T,Ew) ┐
sub ids (B,T,S) -> mean of n-gram embeddings (B,T,Es) ┴ concat -> dropout -> packed BiLSTM/BiGRU (B,T,2H)
-> pooling (attention and/or max/mean/last) -> dropout -> linear (B,C) -> softmax(logits / temperature)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from training.config import TrainConfig


class SentimentRNN(nn.Module):
    def __init__(self, vocab_size: int, cfg: TrainConfig, num_classes: int = 3) -> None:
        super().__init__()
        self.pooling = cfg.pooling
        self.use_subword = cfg.subword_buckets > 0
        self.embedding = nn.Embedding(vocab_size, cfg.embed_dim, padding_idx=0)
        sub_dim = cfg.subword_dim if self.use_subword else 0
        self.sub_embedding = nn.Embedding(max(cfg.subword_buckets, 0) + 1, max(sub_dim, 1), padding_idx=0)
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        rnn_cls = nn.GRU if cfg.rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            cfg.embed_dim + sub_dim,
            cfg.hidden_dim,
            num_layers=cfg.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        H2 = 2 * cfg.hidden_dim
        self.attn = nn.Linear(H2, H2)
        self.attn_v = nn.Linear(H2, 1, bias=False)
        pooled = {"attn_max": 2 * H2}.get(cfg.pooling, H2)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(pooled, num_classes)
        # linear bag-of-features branch: per-feature class scores, averaged over the text
        # (created without consuming random numbers: the rest of the initialisation, and so a seeded run, is the
        # same whether or not this branch exists; the weights are zeroed in _init anyway)
        self.use_linear = cfg.linear_branch
        rng = torch.random.get_rng_state()
        self.lin_word = nn.Embedding(vocab_size if cfg.linear_branch else 1, num_classes, padding_idx=0)
        self.lin_sub = nn.Embedding(
            (max(cfg.subword_buckets, 0) + 1) if cfg.linear_branch else 1, num_classes, padding_idx=0
        )
        torch.random.set_rng_state(rng)
        self.register_buffer("temperature", torch.ones(1))
        self._init(cfg)

    def _init(self, cfg: TrainConfig) -> None:
        nn.init.zeros_(self.lin_word.weight)
        nn.init.zeros_(self.lin_sub.weight)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.normal_(self.sub_embedding.weight, 0.0, 0.05)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
            self.sub_embedding.weight[0].zero_()
        for name, p in self.rnn.named_parameters():
            if "weight_ih" in name:
                nn.init.xavier_uniform_(p)
            elif "weight_hh" in name:
                nn.init.orthogonal_(p)
            elif "bias" in name:
                nn.init.zeros_(p)
                if cfg.rnn == "lstm":  # gates are (input, forget, cell, output): forget-gate bias
                    H = cfg.hidden_dim
                    with torch.no_grad():
                        p[H : 2 * H].fill_(cfg.forget_bias / 2)  # bias_ih + bias_hh = forget_bias

    def embed(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        # tables may be stored in float16 (compact_embeddings); the network computes in the buffers' float32
        x = self.embedding(word_ids).to(self.temperature.dtype)  # (B, T, Ew)
        if self.use_subword:
            sub = self.sub_embedding(sub_ids).to(self.temperature.dtype)  # (B, T, S, Es)
            count = (sub_ids > 0).sum(dim=2, keepdim=True).clamp(min=1).to(sub.dtype)  # (B, T, 1)
            x = torch.cat([x, sub.sum(dim=2) / count], dim=2)  # (B, T, Ew + Es)
        return x

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embedded inputs (B, T, E) -> pooled features (B, P)."""
        T = x.size(1)
        packed = pack_padded_sequence(self.embed_dropout(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        h_packed, _ = self.rnn(packed)
        h, _ = pad_packed_sequence(h_packed, batch_first=True, total_length=T)  # (B, T, 2H)
        mask = torch.arange(T, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)  # (B, T)
        m = mask.unsqueeze(2)  # (B, T, 1)
        if self.pooling == "max":
            return h.masked_fill(~m, -1e4).max(dim=1).values
        if self.pooling == "mean":
            return (h * m).sum(dim=1) / lengths.to(h.device).unsqueeze(1).to(h.dtype)
        if self.pooling == "last":
            H = h.size(2) // 2
            last = h.gather(1, (lengths.to(h.device) - 1).view(-1, 1, 1).expand(-1, 1, h.size(2))).squeeze(1)
            return torch.cat([last[:, :H], h[:, 0, H:]], dim=1)  # forward end, backward start
        scores = self.attn_v(torch.tanh(self.attn(h))).squeeze(2)  # (B, T)
        weights = torch.softmax(scores.masked_fill(~mask, -1e4), dim=1)  # (B, T)
        attended = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (B, 2H)
        if self.pooling == "attn":
            return attended
        return torch.cat([attended, h.masked_fill(~m, -1e4).max(dim=1).values], dim=1)  # (B, 4H)

    def linear_logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        """Bag-of-features class scores (B, C): mean over tokens + mean over char n-grams."""
        w_mask = (word_ids > 0).unsqueeze(2).to(torch.float32)  # (B, T, 1)
        words = (self.lin_word(word_ids) * w_mask).sum(dim=1) / w_mask.sum(dim=1).clamp(min=1.0)  # (B, C)
        B = sub_ids.size(0)
        flat = sub_ids.reshape(B, -1)  # (B, T*S)
        s_mask = (flat > 0).unsqueeze(2).to(torch.float32)  # (B, T*S, 1)
        subs = (self.lin_sub(flat) * s_mask).sum(dim=1) / s_mask.sum(dim=1).clamp(min=1.0)  # (B, C)
        return words + subs

    def classify(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embedded inputs (B, T, E) -> unscaled class scores of the recurrent part (B, C)."""
        return self.out(self.dropout(self.encode(x, lengths)))

    def logits_from_embedded(
        self, x: torch.Tensor, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Unscaled class scores (B, C) from already embedded inputs x (B, T, E) (adversarial training perturbs x)."""
        out = self.classify(x, lengths)
        if self.use_linear:
            out = out + self.linear_logits(word_ids, sub_ids)
        return out

    @torch.jit.export
    def logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unscaled class scores (B, C)."""
        return self.logits_from_embedded(self.embed(word_ids, sub_ids), word_ids, sub_ids, lengths)

    def forward(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities (B, C)."""
        return torch.softmax(self.logits(word_ids, sub_ids, lengths) / self.temperature, dim=1)


class Ensemble(nn.Module):
    """Mean of the members' probabilities, calibrated by one temperature; exported as one TorchScript module."""

    def __init__(self, members: list[SentimentRNN]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("temperature", torch.ones(1))

    @torch.jit.export
    def logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Log of the mean member probability (B, C)."""
        probs = torch.stack([m(word_ids, sub_ids, lengths) for m in self.members], dim=0).mean(dim=0)  # (B, C)
        return torch.log(probs.clamp(min=1e-8))

    def forward(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(word_ids, sub_ids, lengths) / self.temperature, dim=1)  # (B, C)


def compact_embeddings(model: nn.Module) -> nn.Module:
    """Store every embedding table in float16, in place: they are ~98% of the weights, so the artifact halves;
    lookups are cast back to float32 (SentimentRNN.embed), so only the stored values are rounded (~1e-3 relative).
    """
    for m in model.modules():
        if isinstance(m, nn.Embedding):
            m.weight.data = m.weight.data.half()
    return model


def build_model(vocab_size: int, cfg: TrainConfig, num_classes: int = 3) -> SentimentRNN | Ensemble:
    """The architecture a config describes (untrained): one network, or cfg.members of them averaged."""
    if cfg.members <= 1:
        return SentimentRNN(vocab_size, cfg, num_classes)
    return Ensemble([SentimentRNN(vocab_size, cfg, num_classes) for _ in range(cfg.members)])
