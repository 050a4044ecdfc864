"""Batch-invariant int8 (training/pinned_int8.py) on small LSTM / GRU networks of the shape SentimentRNN uses."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from training.pinned_int8 import PinnedLinear, calibrate, pinned_int8


class Tiny(nn.Module):
    def __init__(self, rnn: type[nn.Module]) -> None:
        super().__init__()
        self.rnn = rnn(8, 6, batch_first=True, bidirectional=True)
        self.out = nn.Linear(12, 3)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=x.size(1))  # (B, T, 12)
        return torch.softmax(self.out(h.max(dim=1).values), dim=1)  # (B, 3)


def _batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 9, 8, generator=g), torch.randint(1, 10, (n,), generator=g)


@pytest.mark.parametrize("rnn", [nn.LSTM, nn.GRU])
def test_scores_are_bit_identical_alone_and_in_any_batch(rnn: type[nn.Module]):
    torch.manual_seed(0)
    model = Tiny(rnn).eval()
    x, lengths = _batch(40, 1)
    ranges = calibrate(model, lambda: [model(x, lengths)])
    q = torch.jit.script(pinned_int8(model, ranges))
    with torch.no_grad():
        together = q(x, lengths)  # (40, 3)
        alone = torch.cat([q(x[i : i + 1], lengths[i : i + 1]) for i in range(40)])
        x2, l2 = _batch(30, 2)
        mixed = q(torch.cat([x[:10], x2]), torch.cat([lengths[:10], l2]))[:10]
        reference = model(x, lengths)
    assert torch.equal(together, alone) and torch.equal(together[:10], mixed)
    assert 0 < float((together - reference).abs().max()) < 0.05  # quantized, and close to float32


def test_plain_dynamic_quantization_is_what_depends_on_the_batch():
    """The problem being solved: the same model quantized the usual way gives a text other scores in another batch."""
    torch.manual_seed(0)
    model = Tiny(nn.LSTM).eval()
    plain = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    x, lengths = _batch(40, 1)
    with torch.no_grad():
        together = plain(x, lengths)
        alone = torch.cat([plain(x[i : i + 1], lengths[i : i + 1]) for i in range(40)])
    assert float((together - alone).abs().max()) > 1e-4


def test_a_pinned_linear_clamps_values_outside_its_calibrated_range():
    lin = nn.Linear(4, 2)
    pinned = PinnedLinear(lin, -1.0, 1.0)
    x = torch.tensor([[0.5, -0.5, 3.0, -7.0]])
    with torch.no_grad():
        assert torch.allclose(pinned(x), lin(x.clamp(-1, 1)), atol=0.02)


def test_multi_layer_recurrent_layers_are_refused():
    model = nn.Module()
    model.rnn = nn.LSTM(4, 3, num_layers=2, batch_first=True)
    with pytest.raises(ValueError, match="one-layer recurrent layers"):
        pinned_int8(model, {"rnn": (-1.0, 1.0)})
