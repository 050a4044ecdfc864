import numpy as np

from training.bias import avg_recall_of, fit_class_bias


def test_avg_recall_of_is_macro_recall():
    gold = np.array([0, 0, 1, 2])
    assert avg_recall_of(np.array([0, 1, 1, 2]), gold) == (0.5 + 1 + 1) / 3


def test_bias_moves_predictions_towards_the_under_predicted_class():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 3000)
    logits = np.eye(3)[gold] * 2.0 + rng.normal(0, 1.2, (3000, 3))
    logits[:, 0] -= 0.8  # the model under-predicts negatives
    before = avg_recall_of(logits.argmax(1), gold)
    bias = fit_class_bias(logits, gold)
    assert bias[1] == 0 and bias[0] > 0.3
    assert avg_recall_of((logits + bias).argmax(1), gold) > before + 0.01


def test_a_fair_model_keeps_a_zero_bias():
    gold = np.array([0, 1, 2] * 50)
    assert (fit_class_bias(np.eye(3)[gold] * 5.0, gold) == 0).all()
