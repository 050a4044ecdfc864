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
