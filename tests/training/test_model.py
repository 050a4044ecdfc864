import pytest
import torch

from service.core.features import Encoder, FeatureConfig, collate
from training.config import TrainConfig
from training.model import Ensemble, SentimentRNN

ITOS = ["<pad>", "<unk>", "good", "bad", "day"]


def batch():
    enc = Encoder(ITOS, FeatureConfig(max_len=8, subword_buckets=50))
    return collate([enc.encode("good day"), enc.encode("bad bad bad day !"), enc.encode("x")])


@pytest.mark.parametrize("pooling", ["attn_max", "attn", "max", "mean", "last"])
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_shapes_and_probabilities(pooling, rnn):
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50, pooling=pooling, rnn=rnn)
    model = SentimentRNN(len(ITOS), cfg).eval()
    word, sub, lengths = batch()
    assert word.shape == (3, 5) and sub.shape[:2] == (3, 5) and lengths.tolist() == [2, 5, 1]
    probs = model(word, sub, lengths)
    assert probs.shape == (3, 3)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(word, sub, lengths), probs)


def test_padding_does_not_change_the_output():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50)
    model = SentimentRNN(len(ITOS), cfg).eval()
    enc = Encoder(ITOS, FeatureConfig(max_len=8, subword_buckets=50))
    alone = model(*collate([enc.encode("good day")]))
    padded = model(*collate([enc.encode("good day"), enc.encode("bad bad bad bad bad day")]))[:1]
    torch.testing.assert_close(alone, padded)


def test_forget_gate_bias_initialised():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, forget_bias=1.0)
    model = SentimentRNN(len(ITOS), cfg)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    torch.testing.assert_close(b[6:12], torch.ones(6))
    torch.testing.assert_close(b[:6], torch.zeros(6))


def test_temperature_scales_confidence():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50)
    model = SentimentRNN(len(ITOS), cfg).eval()
    word, sub, lengths = batch()
    p1 = model(word, sub, lengths)
    model.temperature.fill_(5.0)
    assert (model(word, sub, lengths).max(dim=1).values < p1.max(dim=1).values).all()


def test_ensemble_is_scriptable_mean():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50)
    a, b = SentimentRNN(len(ITOS), cfg).eval(), SentimentRNN(len(ITOS), cfg).eval()
    ens = torch.jit.script(Ensemble([a, b]).eval())
    word, sub, lengths = batch()
    torch.testing.assert_close(ens(word, sub, lengths), (a(word, sub, lengths) + b(word, sub, lengths)) / 2)


FULL = dict(
    embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50, lexicons="vader,afinn", vectors="frozen",
    negation=True, ngram_branch="average", bigram_buckets=97,
)  # fmt: skip


def full_batch(itos):
    enc = Encoder(itos, FeatureConfig(max_len=8, subword_buckets=50, negation=1))
    return collate([enc.encode("good day"), enc.encode("not good at all"), enc.encode("x")])


def test_every_channel_together_is_scriptable_and_reads_frozen_rows():
    itos = [*ITOS, "not", "at", "all"]  # the last three: frozen extension rows (not in the trained table)
    cfg = TrainConfig(**FULL)
    model = SentimentRNN(len(itos), cfg, trained_vocab=len(ITOS)).eval()
    assert model.embedding.num_embeddings == len(ITOS) and model.vectors.shape == (len(itos), 50)
    model.set_tables(torch.randn(len(itos), 50), torch.rand(len(itos), 4))
    word, sub, lengths = full_batch(itos)
    probs = model(word, sub, lengths)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    torch.testing.assert_close(torch.jit.script(model)(word, sub, lengths), probs)
    # the frozen rows matter: other vectors for "not", "at", "all" change the second text only
    before = probs.clone()
    model.vectors.data[len(ITOS) :] += 1.0
    after = model(word, sub, lengths)
    assert not torch.allclose(after[1], before[1]) and torch.allclose(after[0], before[0])


def test_lexicon_sums_split_by_negation_scope():
    itos = [*ITOS, "not"]
    model = SentimentRNN(len(itos), TrainConfig(**FULL)).eval()
    lex = torch.zeros(len(itos), 4)
    lex[2, 0] = 1.0  # "good": positive in the first lexicon
    model.set_tables(lexicon=lex)
    word, sub, _ = full_batch(itos)
    sums = model.lexicon_sums(word, sub)  # (B, 2L): outside the scope, then inside
    assert sums[0, 0] == 1.0 and sums[0, 4] == 0.0  # "good day": outside
    assert sums[1, 0] == 0.0 and sums[1, 4] == 1.0  # "not good ...": inside


def test_ngram_branch_hashes_word_bigrams_inside_the_module():
    model = SentimentRNN(len(ITOS), TrainConfig(**{**FULL, "lexicons": "", "vectors": "none"})).eval()
    word, sub, _ = batch()
    base = model.ngram_logits(word, sub)
    with torch.no_grad():
        model.lin_bigram.weight[1:] = torch.randn(97, 3)
    changed = model.ngram_logits(word, sub)
    assert not torch.allclose(changed[:2], base[:2])  # texts with two or more tokens have bigrams
    torch.testing.assert_close(changed[2], base[2])  # a one-token text has none


def test_class_bias_is_added_to_the_logits():
    model = SentimentRNN(len(ITOS), TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50)).eval()
    word, sub, lengths = batch()
    before = model.logits(word, sub, lengths)
    model.class_bias.copy_(torch.tensor([0.5, 0.0, -0.25]))
    torch.testing.assert_close(model.logits(word, sub, lengths), before + torch.tensor([0.5, 0.0, -0.25]))
