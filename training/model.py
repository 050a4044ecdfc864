"""The BiLSTM classifier. TorchScript-compatible (torch.jit.script), no training-only code in forward.

word ids (B,T) -> trainable word embedding (B,T,Ew)       [ids of frozen extension rows read <unk>'s row]
               -> GloVe vectors, frozen or fine-tuned (B,T,G)      (optional, a table over the whole vocabulary)
               -> lexicon prior polarities (B,T,L), their negated copy and the negation flag (optional); with
                  negation_flip a token inside a negation scope has its positive and negative strengths swapped
                  in the first channel ("not bad": "bad" reads as positive), so word-level weights carry over
sub ids (B,T,S) -> mean of char n-gram embeddings (B,T,Es); the reserved id negation_id marks negation scope
concat -> dropout -> packed BiLSTM/BiGRU (B,T,2H) -> pooling (attention and/or max/mean/last) [+ tweet-level
lexicon sums (B,2L)] -> dropout -> linear (B,C)
[ngram_branch=average: a linear model over hashed word uni/bigrams (from the word ids, inside the module) and
the char n-grams, whose probabilities are averaged with the recurrent network's]
-> + class bias (the decision rule fitted on validation) -> softmax(logits / temperature)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from service.core.features import UNK_ID, negation_id
from training.config import TrainConfig

BIGRAM_PRIME = 1_000_003  # word bigram (a, b) -> (a * BIGRAM_PRIME + b) % buckets + 1


class SentimentRNN(nn.Module):
    def __init__(self, vocab_size: int, cfg: TrainConfig, num_classes: int = 3, trained_vocab: int = 0) -> None:
        super().__init__()
        self.pooling = cfg.pooling
        self.use_subword = cfg.subword_buckets > 0
        self.n_trained = trained_vocab or vocab_size  # rows of the trainable table; the rest are frozen extensions
        self.embedding = nn.Embedding(self.n_trained, cfg.embed_dim, padding_idx=0)
        sub_dim = cfg.subword_dim if self.use_subword else 0
        sub_rows = max(cfg.subword_buckets, 0) + 1 + int(cfg.negation)  # + the negation marker id
        self.sub_embedding = nn.Embedding(sub_rows, max(sub_dim, 1), padding_idx=0)
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        # optional channels (created without consuming random numbers, so a seeded run initialises the rest
        # identically with or without them)
        rng = torch.random.get_rng_state()
        self.vector_mode = cfg.vectors
        vec_dim = 50 if cfg.vectors != "none" else 0
        vec_table = torch.zeros(vocab_size if vec_dim else 1, max(vec_dim, 1))
        if cfg.vectors == "finetune":
            self.vectors = nn.Parameter(vec_table)
        else:
            self.register_buffer("vectors", vec_table.half() if vec_dim else vec_table)
        n_lex = 2 * len(cfg.lexicon_names())
        self.use_lexicon = n_lex > 0
        self.register_buffer("lexicon", torch.zeros(vocab_size if n_lex else 1, max(n_lex, 1)).half())
        self.use_negation = bool(cfg.negation)
        self.neg_id = negation_id(cfg.subword_buckets)
        self.negation_flip = bool(cfg.negation_flip) and self.use_negation
        # column permutation (L,) exchanging each lexicon's positive and negative strength: 1, 0, 3, 2, ...
        swap = [k + 1 if k % 2 == 0 else k - 1 for k in range(n_lex)] if n_lex else [0]
        self.register_buffer("lex_swap", torch.tensor(swap, dtype=torch.long), persistent=False)
        lex_in = (2 * n_lex + 1) if (n_lex and cfg.negation) else n_lex  # lex, lex * negated, negated
        rnn_cls = nn.GRU if cfg.rnn == "gru" else nn.LSTM
        torch.random.set_rng_state(rng)
        self.rnn = rnn_cls(
            cfg.embed_dim + vec_dim + sub_dim + lex_in,
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
        rng = torch.random.get_rng_state()
        self.lex_head = nn.Linear(2 * n_lex if n_lex else 1, num_classes, bias=False)  # tweet-level lexicon sums
        # linear bag-of-features branch: per-feature class scores, averaged over the text
        self.use_linear = cfg.linear_branch
        self.ngram_average = cfg.ngram_branch == "average"
        linear = cfg.linear_branch or self.ngram_average
        self.lin_word = nn.Embedding(vocab_size if linear else 1, num_classes, padding_idx=0)
        self.lin_sub = nn.Embedding(sub_rows if linear else 1, num_classes, padding_idx=0)
        self.bigram_buckets = cfg.bigram_buckets if self.ngram_average else 1
        self.bigram_prime = BIGRAM_PRIME
        self.lin_bigram = nn.Embedding(self.bigram_buckets + 1, num_classes, padding_idx=0)
        self.lin_bias = nn.Parameter(torch.zeros(num_classes))
        torch.random.set_rng_state(rng)
        self.register_buffer("class_bias", torch.zeros(num_classes))
        self.register_buffer("temperature", torch.ones(1))
        self.unk_id = UNK_ID
        self.word_dropout = 0.0  # set by the training loop: <unk> for the trainable table only, while training
        self._init(cfg)

    def _init(self, cfg: TrainConfig) -> None:
        nn.init.zeros_(self.lin_word.weight)
        nn.init.zeros_(self.lin_sub.weight)
        nn.init.zeros_(self.lin_bigram.weight)
        nn.init.zeros_(self.lex_head.weight)
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

    @torch.no_grad()
    def set_tables(self, vectors: torch.Tensor | None = None, lexicon: torch.Tensor | None = None) -> None:
        """Fill the GloVe (V, 50) and lexicon (V, L) tables (training time, before the first step)."""
        if vectors is not None:
            self.vectors.data = vectors.to(self.vectors.dtype).clone()
        if lexicon is not None:
            self.lexicon.data = lexicon.half().clone()

    def negated(self, sub_ids: torch.Tensor) -> torch.Tensor:
        """(B, T, 1) float: 1 where the token carries the negation-scope marker."""
        return (sub_ids == self.neg_id).any(dim=2, keepdim=True).to(self.temperature.dtype)

    def polarity(self, lex: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Lexicon strengths (B, T, L) as read outside a negation scope: with negation_flip, a negated token's
        positive and negative columns are exchanged; without it, negated tokens read zero here."""
        if self.negation_flip:
            return lex * (1.0 - neg) + lex.index_select(2, self.lex_swap) * neg  # (B, T, L)
        return lex * (1.0 - neg)  # (B, T, L)

    def embed(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        # tables may be stored in float16 (compact_embeddings); the network computes in the buffers' float32
        dt = self.temperature.dtype
        unk = torch.full_like(word_ids, self.unk_id)
        trained_ids = torch.where(word_ids < self.n_trained, word_ids, unk)  # (B, T)
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(word_ids.shape) < self.word_dropout).to(word_ids.device) & (word_ids != 0)
            trained_ids = trained_ids.masked_fill(drop, self.unk_id)
        parts = [self.embedding(trained_ids).to(dt)]  # (B, T, Ew)
        if self.vector_mode != "none":
            parts.append(F.embedding(word_ids, self.vectors).to(dt))  # (B, T, G)
        if self.use_subword:
            sub = self.sub_embedding(sub_ids).to(dt)  # (B, T, S, Es)
            count = (sub_ids > 0).sum(dim=2, keepdim=True).clamp(min=1).to(sub.dtype)  # (B, T, 1)
            parts.append(sub.sum(dim=2) / count)  # (B, T, Es)
        if self.use_lexicon:
            lex = F.embedding(word_ids, self.lexicon).to(dt)  # (B, T, L)
            if self.use_negation:
                neg = self.negated(sub_ids)  # (B, T, 1)
                parts += [self.polarity(lex, neg), lex * neg, neg]
            else:
                parts.append(lex)
        return torch.cat(parts, dim=2)  # (B, T, E)

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

    def lexicon_sums(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        """Tweet-level prior polarity (B, 2L): lexicon strengths summed over the tokens outside and inside a
        negation scope."""
        lex = F.embedding(word_ids, self.lexicon).to(self.temperature.dtype)  # (B, T, L); padding rows are zero
        if self.use_negation:
            neg = self.negated(sub_ids)  # (B, T, 1)
            return torch.cat([self.polarity(lex, neg).sum(dim=1), (lex * neg).sum(dim=1)], dim=1)  # (B, 2L)
        return torch.cat([lex.sum(dim=1), torch.zeros_like(lex.sum(dim=1))], dim=1)  # (B, 2L)

    def linear_logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        """Bag-of-features class scores (B, C): mean over tokens + mean over char n-grams."""
        w_mask = (word_ids > 0).unsqueeze(2).to(torch.float32)  # (B, T, 1)
        words = (self.lin_word(word_ids).float() * w_mask).sum(dim=1) / w_mask.sum(dim=1).clamp(min=1.0)  # (B, C)
        B = sub_ids.size(0)
        flat = sub_ids.reshape(B, -1)  # (B, T*S)
        s_mask = (flat > 0).unsqueeze(2).to(torch.float32)  # (B, T*S, 1)
        subs = (self.lin_sub(flat).float() * s_mask).sum(dim=1) / s_mask.sum(dim=1).clamp(min=1.0)  # (B, C)
        return words + subs

    def ngram_logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor) -> torch.Tensor:
        """The n-gram branch (B, C): word unigrams and char n-grams (linear_logits) + hashed word bigrams."""
        a, b = word_ids[:, :-1], word_ids[:, 1:]  # (B, T-1)
        valid = (a > 0) & (b > 0)  # (B, T-1)
        h = torch.remainder(a * self.bigram_prime + b, self.bigram_buckets) + 1
        h = h.masked_fill(~valid, 0)  # (B, T-1)
        v = valid.unsqueeze(2).to(torch.float32)  # (B, T-1, 1)
        bigrams = (self.lin_bigram(h).float() * v).sum(dim=1) / v.sum(dim=1).clamp(min=1.0)  # (B, C)
        return self.linear_logits(word_ids, sub_ids) + bigrams + self.lin_bias

    def classify(
        self, x: torch.Tensor, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Embedded inputs (B, T, E) -> unscaled class scores of the recurrent part (B, C)."""
        out = self.out(self.dropout(self.encode(x, lengths)))  # (B, C)
        if self.use_lexicon:
            out = out + self.lex_head(self.lexicon_sums(word_ids, sub_ids))
        return out

    def branch_logits(
        self, x: torch.Tensor, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(recurrent part (B, C), n-gram branch (B, C)) before they are combined: each gets its own loss."""
        out = self.classify(x, word_ids, sub_ids, lengths)
        if self.use_linear:
            out = out + self.linear_logits(word_ids, sub_ids)
        return out, self.ngram_logits(word_ids, sub_ids)

    def logits_from_embedded(
        self, x: torch.Tensor, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Unscaled class scores (B, C) from already embedded inputs x (B, T, E) (adversarial training perturbs x)."""
        out = self.classify(x, word_ids, sub_ids, lengths)
        if self.use_linear:
            out = out + self.linear_logits(word_ids, sub_ids)
        if self.ngram_average:
            mixed = 0.5 * torch.softmax(out, dim=1) + 0.5 * torch.softmax(self.ngram_logits(word_ids, sub_ids), dim=1)
            out = torch.log(mixed.clamp(min=1e-8))  # (B, C)
        return out + self.class_bias

    @torch.jit.export
    def logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unscaled class scores (B, C), class bias included."""
        return self.logits_from_embedded(self.embed(word_ids, sub_ids), word_ids, sub_ids, lengths)

    def forward(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities (B, C)."""
        return torch.softmax(self.logits(word_ids, sub_ids, lengths) / self.temperature, dim=1)


class Ensemble(nn.Module):
    """Mean of the members' probabilities, calibrated by one temperature; exported as one TorchScript module."""

    def __init__(self, members: list[nn.Module]) -> None:  # SentimentRNNs, or exported TorchScript models (ensemble.py)
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("class_bias", torch.zeros(3))
        self.register_buffer("temperature", torch.ones(1))

    @torch.jit.export
    def logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Log of the mean member probability (B, C), class bias included."""
        probs = torch.stack([m(word_ids, sub_ids, lengths) for m in self.members], dim=0).mean(dim=0)  # (B, C)
        return torch.log(probs.clamp(min=1e-8)) + self.class_bias

    def forward(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(word_ids, sub_ids, lengths) / self.temperature, dim=1)  # (B, C)


def compact_embeddings(model: nn.Module) -> nn.Module:
    """Store every embedding table in float16, in place: they are ~98% of the weights, so the artifact halves;
    lookups are cast back to float32 (SentimentRNN.embed, linear_logits), so only the stored values are rounded
    (~1e-3 relative). A fine-tuned GloVe table is a parameter: it is stored in float16 too."""
    for m in model.modules():
        if isinstance(m, nn.Embedding):
            m.weight.data = m.weight.data.half()
        if isinstance(m, SentimentRNN) and isinstance(m.vectors, nn.Parameter):
            m.vectors.data = m.vectors.data.half()
    return model


def build_model(
    vocab_size: int, cfg: TrainConfig, num_classes: int = 3, trained_vocab: int = 0
) -> SentimentRNN | Ensemble:
    """The architecture a config describes (untrained): one network, or cfg.members of them averaged."""
    if cfg.members <= 1:
        return SentimentRNN(vocab_size, cfg, num_classes, trained_vocab)
    return Ensemble([SentimentRNN(vocab_size, cfg, num_classes, trained_vocab) for _ in range(cfg.members)])
