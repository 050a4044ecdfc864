"""The int8 part of docs/benchmarks.md: rows pair fp32 and int8 by length and batch size, speed-ups are ratios."""

from __future__ import annotations

from loadtests.bench.report import int8_section


def _fwd(texts_per_s: float, length: str = "short (<=12 tokens)", bs: int = 8) -> dict:
    return {"length": length, "batch_size": bs, "forward_texts_per_s": texts_per_s}


def test_int8_section_pairs_rows_and_reports_accuracy_change():
    res = {
        "forward": [_fwd(1000.0), _fwd(400.0, "long (31+)", 128)],
        "forward_int8": [_fwd(1700.0), _fwd(900.0, "long (31+)", 128)],
        "offline": {"texts_per_s": 800.0},
        "offline_int8": {"texts_per_s": 1200.0},
        "int8_variant": {
            "method": "quantize_dynamic",
            "measured_on": "internal test split (4939 texts)",
            "avg_recall": 0.6716,
            "fp32_avg_recall": 0.6718,
            "avg_recall_delta": -0.0002,
            "label_agreement": 0.9978,
            "max_abs_prob_diff": 0.0082,
            "max_batch_dependence": 0.0061,
        },
        "ratios": {
            "int8": {
                "served_vs_echo_rps": 0.2,
                "served_int8_vs_fp32_rps": 1.5,
                "served_multi_vs_offline_texts": 0.8,
                "half_saturation_rate": 500.0,
                "p99_ms_at_half_saturation": 20.0,
            }
        },
    }
    text = "\n".join(int8_section(res))
    assert "| short (<=12 tokens) | 8 | 1,000 | 1,700 | 1.70x |" in text
    assert "| long (31+) | 128 | 400 | 900 | 2.25x |" in text
    assert "(**-0.0002**)" in text and "1.50x" in text and "0.2" in text
    assert int8_section({"forward": []}) == []
