import numpy as np
import pytest

from service.core.evaluation import evaluate_predictions, expected_calibration_error, format_report


def test_avg_recall_f1pn_accuracy_by_hand():
    # labels: 0 negative, 1 neutral, 2 positive
    gold = [0, 0, 1, 1, 1, 2, 2, 2]
    pred = [0, 1, 1, 1, 2, 2, 2, 0]
    m = evaluate_predictions(gold, pred)
    assert m["avg_recall"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    p_neg, r_neg = 1 / 2, 1 / 2
    p_pos, r_pos = 2 / 3, 2 / 3
    f1 = lambda p, r: 2 * p * r / (p + r)  # noqa: E731
    assert m["f1_pn"] == pytest.approx((f1(p_neg, r_neg) + f1(p_pos, r_pos)) / 2)
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 1], [1, 0, 2]]
    assert "AvgRec" in format_report(m)


def test_absent_class_does_not_divide_by_zero():
    m = evaluate_predictions([1, 1], [1, 1])
    assert m["per_class"]["negative"]["recall"] == 0.0 and m["accuracy"] == 1.0


def test_ece_zero_for_perfectly_calibrated_onehots():
    probs = np.eye(3)[[0, 1, 2, 0]]
    assert expected_calibration_error(probs, [0, 1, 2, 0]) == pytest.approx(0.0)
    assert expected_calibration_error(probs, [1, 1, 2, 0]) == pytest.approx(0.25)
