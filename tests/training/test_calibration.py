"""The temperature fit (training/calibration.py)."""

import math

import torch

from training.calibration import T_MAX, T_MIN, fit_temperature


def test_a_confident_correct_model_gets_a_small_temperature_and_a_hedging_one_a_large_one():
    labels = torch.arange(3).repeat(50)  # (150,)
    sharp = torch.eye(3)[labels] * 0.2  # right but timid: sharpening lowers NLL -> T < 1
    assert fit_temperature(sharp, labels) < 1.0
    wrong = torch.eye(3)[(labels + 1) % 3] * 5.0 + torch.eye(3)[labels] * 4.0  # overconfident -> T > 1
    assert fit_temperature(wrong, labels) > 1.0


def test_degenerate_logits_stay_inside_the_bounds_instead_of_nan():
    labels = torch.arange(3).repeat(20)  # (60,)
    perfect = torch.eye(3)[labels] * 0.5  # NLL falls for ever as T -> 0: the search stops at the bound
    t = fit_temperature(perfect, labels)
    assert math.isfinite(t) and T_MIN <= t <= T_MAX and t < 0.1
