"""Batch-invariant int8: dynamic quantization whose activation ranges cannot depend on the other texts of a batch.

``torch.ao.quantization.quantize_dynamic`` quantizes each activation tensor with the min and max of *that tensor*,
i.e. of the whole batch: a text's int8 scores then move (up to ~0.007 here) with the texts it is batched with, so
the API (adaptive batches), Ray (blocks) and the local scorer (windows) disagree. Here every quantized op is given
the same range for every batch:

* `PinnedLinear`: for a linear layer whose input is bounded by [-1, 1] by construction (it reads tanh/sigmoid
  outputs: the recurrent states, attention scores, their pooled values; seen so on the calibration texts), two
  constant columns -1 and +1 are appended to the input (their weights are zero), so the tensor's min and max, and
  its quantization scale, are the same whatever the batch. A linear layer whose input is not bounded (e.g.
  tweet-level sums of lexicon scores, which grow with the text) stays in float32: clamping it to a calibrated
  range would change long texts' scores, and such layers are tiny (a few columns per text, not per token).
* `PinnedLSTM` / `PinnedGRU` (one-layer LSTM or GRU, uni- or bidirectional, packed input): the input gets the same two
  constant columns; the hidden state gets two *sentinel units* per direction whose gates are saturated by their
  biases (all recurrent weights to and from them are zero), so they are exactly +1 and -1 at every step of every
  sequence, while real units stay strictly inside (-1, 1). The range of the hidden-to-hidden input is then [-1, 1]
  for every batch and every step. The sentinel units are dropped from the output.

The result is a pure per-text function: the same text gets bit-identical int8 scores alone, in any batch, on any
engine (tests/training/test_quantize.py). Speed is that of ordinary dynamic quantization (docs/benchmarks.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

SATURATE = 30.0  # gate bias of a sentinel unit: sigmoid(30) and tanh(30) are exactly 1.0 in float32
MARGIN = 0.25  # a recurrent layer's calibrated input bound is widened by this fraction


def _quantized(module: nn.Module) -> nn.Module:
    """The dynamically quantized (qint8) twin of one LSTM / GRU / Linear (quantize_dynamic swaps children only)."""
    box = nn.Sequential(module)
    return torch.ao.quantization.quantize_dynamic(box, {nn.LSTM, nn.GRU, nn.Linear}, dtype=torch.qint8)[0]


class PinnedLinear(nn.Module):
    def __init__(self, linear: nn.Linear, lo: float, hi: float) -> None:
        super().__init__()
        wide = nn.Linear(linear.in_features + 2, linear.out_features, bias=linear.bias is not None)
        with torch.no_grad():
            wide.weight.zero_()
            wide.weight[:, : linear.in_features] = linear.weight
            if linear.bias is not None:
                wide.bias.copy_(linear.bias)
        self.linear = _quantized(wide)
        self.lo, self.hi = float(lo), float(hi)
        self.register_buffer("pins", torch.tensor([lo, hi], dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = list(x.shape[:-1]) + [2]  # noqa: RUF005 (TorchScript has no [*xs, 2])
        x = torch.cat([x.clamp(self.lo, self.hi), self.pins.expand(shape)], dim=-1)  # (..., in + 2)
        return self.linear(x)  # (..., out)


def _sentinel_copy(rnn: nn.LSTM | nn.GRU) -> nn.LSTM | nn.GRU:
    """The same recurrent layer with 2 extra input columns and 2 sentinel units per direction (+1 and -1)."""
    E, H, D = rnn.input_size, rnn.hidden_size, 2 if rnn.bidirectional else 1
    gates = 4 if isinstance(rnn, nn.LSTM) else 3
    wide = type(rnn)(E + 2, H + 2, num_layers=1, batch_first=rnn.batch_first, bidirectional=rnn.bidirectional)
    with torch.no_grad():
        for d in range(D):
            sfx = "_l0" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(rnn, "weight_ih" + sfx), getattr(rnn, "weight_hh" + sfx)  # (G*H, E), (G*H, H)
            b_ih, b_hh = getattr(rnn, "bias_ih" + sfx), getattr(rnn, "bias_hh" + sfx)  # (G*H,)
            W_ih, W_hh = torch.zeros(gates * (H + 2), E + 2), torch.zeros(gates * (H + 2), H + 2)
            B_ih, B_hh = torch.zeros(gates * (H + 2)), torch.zeros(gates * (H + 2))
            for g in range(gates):
                src, dst = slice(g * H, (g + 1) * H), slice(g * (H + 2), g * (H + 2) + H)
                W_ih[dst, :E], W_hh[dst, :H] = w_ih[src], w_hh[src]
                B_ih[dst], B_hh[dst] = b_ih[src], b_hh[src]
                for unit, sign in ((H, 1.0), (H + 1, -1.0)):
                    # LSTM (i, f, g, o): i = f = o = 1, cell input g = sign: c runs away from 0, h = sign exactly.
                    # GRU (r, z, n): z = 1 keeps h at its initial value (sign) forever.
                    if isinstance(rnn, nn.LSTM):
                        B_ih[g * (H + 2) + unit] = SATURATE * (sign if g == 2 else 1.0)
                    elif g == 1:
                        B_ih[g * (H + 2) + unit] = SATURATE
            getattr(wide, "weight_ih" + sfx).copy_(W_ih)
            getattr(wide, "weight_hh" + sfx).copy_(W_hh)
            getattr(wide, "bias_ih" + sfx).copy_(B_ih)
            getattr(wide, "bias_hh" + sfx).copy_(B_hh)
    return wide


class _PinnedRecurrent(nn.Module):
    """Drop-in for a one-layer ``nn.LSTM`` / ``nn.GRU`` called on a PackedSequence (as `SentimentRNN.encode` does);
    `PinnedLSTM` and `PinnedGRU` differ only in the recurrent state they pass (TorchScript types each call)."""

    def __init__(self, rnn: nn.LSTM | nn.GRU, bound: float) -> None:
        super().__init__()
        if rnn.num_layers != 1:
            raise ValueError(f"batch-invariant int8 supports one-layer recurrent layers, not {rnn.num_layers}")
        H, D = rnn.hidden_size, 2 if rnn.bidirectional else 1
        self.hidden, self.directions = H, D
        self.rnn = _quantized(_sentinel_copy(rnn))
        self.bound = float(bound)
        self.register_buffer("pins", torch.tensor([-bound, bound], dtype=torch.float32))
        h0 = torch.zeros(D, 1, H + 2)
        h0[:, :, H], h0[:, :, H + 1] = 1.0, -1.0
        self.register_buffer("h0", h0)  # (D, 1, H + 2)
        self.register_buffer("c0", h0 * SATURATE)  # LSTM cell state of the sentinels: tanh(+-30) = +-1
        keep = [d * (H + 2) + k for d in range(D) for k in range(H)]
        self.register_buffer("keep", torch.tensor(keep, dtype=torch.long))  # (D*H,)

    def _widen(self, packed: PackedSequence) -> PackedSequence:
        data = packed.data  # (N, E): every step of every sequence
        data = torch.cat([data.clamp(-self.bound, self.bound), self.pins.expand(data.size(0), 2)], dim=1)  # (N, E+2)
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)

    def _state(self, packed: PackedSequence, init: torch.Tensor) -> torch.Tensor:
        B = int(packed.batch_sizes[0])
        return init.expand(self.directions, B, self.hidden + 2).contiguous()  # (D, B, H + 2)

    def _narrow(self, out: PackedSequence) -> PackedSequence:
        kept = out.data.index_select(1, self.keep)  # (N, D*H): the sentinel units dropped
        return PackedSequence(kept, out.batch_sizes, out.sorted_indices, out.unsorted_indices)


class PinnedLSTM(_PinnedRecurrent):
    def forward(self, packed: PackedSequence) -> tuple[PackedSequence, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.rnn(self._widen(packed), (self._state(packed, self.h0), self._state(packed, self.c0)))
        return self._narrow(out), state


class PinnedGRU(_PinnedRecurrent):
    def forward(self, packed: PackedSequence) -> tuple[PackedSequence, torch.Tensor]:
        out, h_n = self.rnn(self._widen(packed), self._state(packed, self.h0))
        return self._narrow(out), h_n


def calibrate(model: nn.Module, run: Callable[[], Iterable[object]]) -> dict[str, tuple[float, float]]:
    """Input range (min, max) of every LSTM / GRU / Linear of `model` while `run()` feeds it real texts."""
    ranges: dict[str, tuple[float, float]] = {}
    hooks = []

    def hook(name: str) -> Callable[..., None]:
        def record(_module: nn.Module, inputs: tuple[object, ...]) -> None:
            x = inputs[0]
            data = x.data if isinstance(x, PackedSequence) else x
            assert isinstance(data, torch.Tensor)
            lo, hi = float(data.min()), float(data.max())
            old = ranges.get(name, (lo, hi))
            ranges[name] = (min(old[0], lo), max(old[1], hi))

        return record

    for name, module in model.named_modules():
        if isinstance(module, nn.LSTM | nn.GRU | nn.Linear):
            hooks.append(module.register_forward_pre_hook(hook(name)))
    try:
        with torch.no_grad():
            for _ in run():
                pass
    finally:
        for h in hooks:
            h.remove()
    return ranges


def pinned_int8(model: nn.Module, ranges: dict[str, tuple[float, float]]) -> nn.Module:
    """A copy of `model` whose LSTM / GRU / Linear layers are batch-invariant int8 (`ranges` from `calibrate`)."""
    model = copy.deepcopy(model).cpu().eval()
    for name, module in list(model.named_modules()):
        if name not in ranges or not isinstance(module, nn.LSTM | nn.GRU | nn.Linear):
            continue
        lo, hi = ranges[name]
        if isinstance(module, nn.Linear):
            if max(abs(lo), abs(hi)) > 1.0:
                continue  # an unbounded input: kept in float32 (see the module docstring)
            replacement: nn.Module = PinnedLinear(module, -1.0, 1.0)
        else:
            pinned = PinnedLSTM if isinstance(module, nn.LSTM) else PinnedGRU
            replacement = pinned(module, max(abs(lo), abs(hi)) * (1 + MARGIN))
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, attr, replacement)
    return model
