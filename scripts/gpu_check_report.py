"""The Markdown report of scripts/gpu_check.py (gpu.md), written from the same dict as gpu.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HOWTO = Path(__file__).with_name("gpu_check_howto.md")


def _status(step: dict[str, Any]) -> str:
    return {"ok": "ok", "failed": "**FAILED**", "skipped": "skipped"}[step["status"]]


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _gpu(load: dict[str, Any]) -> str:
    g = load.get("gpu")
    return f"{g['util_mean_pct']}% mean, {g['util_max_pct']}% max" if g else "n/a"


def _facts(r: dict[str, Any]) -> list[str]:
    pk = ", ".join(f"{k} {v}" for k, v in r["packages"].items() if v) or "-"
    lines = [f"- Python {r['python']} on {r['platform']}, {r['cpus']} CPUs", f"- packages: {pk}"]
    lines.append(f"- torch CUDA {r['torch_cuda']}, cuDNN {r['cudnn']}, CUDA available: {r['cuda_available']}")
    if r.get("gpu"):
        g = r["gpu"]
        lines.append(f"- GPU: {g['name']} (sm {g['capability']}, {g['memory_gib']} GiB, driver {g['driver']})")
    return [*lines, ""]


def _throughput(r: dict[str, Any]) -> list[str]:
    rows = [
        [x["batch"], x["padded_len"], x["forward_ms"], x["forward_texts_per_s"], x["e2e_texts_per_s"]]
        for x in r["rows"]
    ]
    head = ["batch", "padded length", "forward ms (median)", "forward texts/s", "encode+forward texts/s"]
    return [f"device {r['device']}, torch threads {r['torch_threads']}", "", *_table(head, rows)]


def _serve(r: dict[str, Any]) -> list[str]:
    rows = []
    for run in r["runs"]:
        for kind, label in (("single", "1 text"), ("batch64", "64 texts")):
            x = run[kind]
            figs = [x["rps"], x["texts_per_s"], x["p50_ms"], x["p99_ms"]]
            errors = f"{x['errors']} {x.get('status')}" if x["errors"] else 0
            rows.append([run["workers"], label, x["concurrency"], *figs, errors, _gpu(x)])
    head = ["workers", "request", "connections", "req/s", "texts/s", "p50 ms", "p99 ms", "errors", "GPU util"]
    answers = "; ".join(
        f"{run['workers']} workers: {run['answers']['texts']} texts, max diff {run['answers']['max_score_diff']:.1e}"
        if "error" not in run["answers"]
        else f"{run['workers']} workers: **{run['answers']['error']}**"
        for run in r["runs"]
    )
    return [f"Served answers vs the in-process Predictor on the same device: {answers}.", "", *_table(head, rows)]


def _ray(r: dict[str, Any]) -> list[str]:
    cmp = r["ray_vs_local"]
    return [
        f"{r['rows']} rows: local engine {r['local']['wall_s']} s ({r['local']['rows_per_s']} rows/s), Ray engine "
        f"{r['ray']['wall_s']} s ({r['ray']['rows_per_s']} rows/s, including the cluster start); Ray vs local: "
        f"max score diff {cmp['max_score_diff']:.1e}, label agreement {cmp['label_agreement']:.4f}",
        "",
    ]


def _train(r: dict[str, Any]) -> list[str]:
    return [
        f"`{r['command']}`: epoch {r['epoch_s']} s, whole command {r['total_s']} s; the artifact it wrote "
        f"({r['artifact']}, test AvgRec {r['test_avg_recall']}) loads and verifies",
        "",
    ]


def _load(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['model']} ({r['version']}), exported with torch {r['exported_with_torch']}, loaded under torch "
        f"{r['running_torch']} on {r['device']} in {r['load_s']} s",
        "",
    ]


def _parity(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['texts']} tweets, fp32, {r['device']} vs cpu: max abs probability difference {r['max_abs_diff']:.2e} "
        f"(limit {r['atol']:.0e}), label agreement {r['label_agreement']:.4f}",
        "",
    ]


def _install(r: dict[str, Any]) -> list[str]:
    return [f"pip install --no-index from {r['from']}: {', '.join(r['installed'])}", ""]


def _half(r: dict[str, Any]) -> list[str]:
    head = ["dtype", "max abs diff vs fp32", "label agreement", "AvgRec", "AvgRec change"]
    rows = [
        [x["dtype"], f"{x['max_abs_diff']:.1e}", f"{x['label_agreement']:.4f}", x["avg_recall"], x["avg_recall_change"]]
        for x in r["rows"]
    ]
    intro = (
        f"{r['texts']} labelled held-out tweets (twitter-2016test-A.tsv) on {r['device']}, fp32 AvgRec "
        f"{r['fp32_avg_recall']} (the module cast in process, not served)"
    )
    return [intro, "", *_table(head, rows)]


RENDER = {
    "install": _install,
    "facts": _facts,
    "load": _load,
    "parity": _parity,
    "half": _half,
    "throughput": _throughput,
    "serve": _serve,
    "ray": _ray,
    "train": _train,
}


def _status_line(report: dict[str, Any]) -> list[str]:
    facts = report["steps"].get("facts", {}).get("result", {})
    gpu = facts.get("gpu")
    if report["device"].startswith("cuda") and gpu:
        return [f"Measured on {gpu['name']} (issue 18).", ""]
    pk = facts.get("packages", {})
    return [
        "**GPU figures not measured yet: no GPU machine was available.** The figures below are the CPU rehearsal's "
        f"(Python {facts.get('python')}, torch {pk.get('torch')}, numpy {pk.get('numpy')}, {facts.get('cpus')} "
        "CPUs, a shared and busy machine: CPU speeds here say the path works, not how fast it is).",
        "",
    ]


def _travel(t: dict[str, Any] | None) -> list[str]:
    if not t:
        return []
    mib = 2**20
    return [
        "## What travels",
        "",
        f"`python -m scripts.gpu_check --check-size` at this run: tree {t['tree_bytes'] / mib:.2f} MiB "
        f"({t['tree_files']} files) + {t['travel_dir']} {t['travel_bytes'] / mib:.2f} MiB (wheels "
        f"{t['wheels_bytes'] / mib:.2f} MiB) = **{t['total_mib']:.2f} MiB** of {t['limit_mib']:.0f} MiB "
        f"({'fits' if t['fits'] else 'DOES NOT FIT'}).",
        "",
    ]


def render(report: dict[str, Any]) -> str:
    lines = [
        f"# GPU check ({report['mode']}, --device {report['device']})",
        "",
        "`scripts/gpu_check.py` checks the CUDA path in one command: the committed TorchScript artifact under the",
        "running torch, device-vs-CPU parity, forward throughput, `sentiment serve --device DEV` under the load",
        "generator, `sentiment score --engine ray` against the local engine, and `sentiment train --device DEV`.",
        "",
        *_status_line(report),
        f"Command: `{report['command']}` — {report['finished_at']}, {report['seconds']} s of a "
        f"{report['budget_s']} s budget. Exit status {0 if report['ok'] else 1} "
        f"({'no step failed' if report['ok'] else 'a step failed'}). Figures: gpu.json next to this file.",
        "",
        HOWTO.read_text(encoding="utf-8"),
        *_travel(report.get("travel")),
    ]
    for name, step in report["steps"].items():
        lines += [f"## {name} — {_status(step)} ({step['seconds']} s)", ""]
        if step["status"] != "ok":
            lines += [f"`{step['error']}`", ""]
        if "result" in step:
            try:
                lines += RENDER[name](step["result"])
            except (KeyError, TypeError) as e:  # a figure missing: show the raw result rather than nothing
                lines += ["```json", json.dumps(step["result"], indent=1)[:3000], "```", f"(render: {e!r})", ""]
    return "\n".join(lines)
