"""benchmarks.md (+ PNG plots) from the results of one `sentiment-lab bench` run, in its output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests.bench.report_side import section as side_by_side_section

GOALS = {
    "served_multi_vs_limit": (">=", 0.9, "served texts/s with 64-text requests / model limit (one process per core)"),
    "served_multi_vs_peer": (">=", 1.2, "served texts/s with 64-text requests / hand-written Starlette peer"),
    "served_single_vs_limit": (">=", 0.5, "served single-text req/s / model limit texts/s"),
    "served_single_vs_peer": (">=", 1.2, "served single-text req/s / hand-written Starlette peer"),
    "offline_vs_limit": (">=", 0.9, "offline scorer texts/s / model limit"),
    "served_vs_echo_rps": (">=", 0.30, "served single-text req/s / bare Starlette echo req/s"),
    "served_multi_vs_offline_texts": (">=", 0.9, f"served texts/s with {64}-text requests / offline scorer texts/s"),
    "batching_vs_no_batching_rps": (">=", 2.5, "single-text req/s with batching / --no-batching"),
    "p99_ms_at_half_saturation": ("<=", 50.0, "p99 (ms) of the batching service at 50% of its saturation req/s"),
    "non_200_below_saturation": ("<=", 0, "non-200 answers (e.g. 503) in sweep runs below saturation"),
}
NOTES_FILE = Path(__file__).with_name("NOTES.md")  # hand-written findings appended to the report


def _met(op: str, value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    ok = value >= target if op == ">=" else value <= target
    return "yes" if ok else "**no**"


def plots(res: dict[str, Any], out_dir: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    http = res["http"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, runs in http.items():
        xs = [r["concurrency"] for r in runs["single"]]
        ax.plot(xs, [r["rps"] for r in runs["single"]], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent connections (closed loop)")
    ax.set_ylabel("single-text requests/s")
    ax.set_title("Throughput vs concurrency")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "bench_throughput.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, runs in http.items():
        r = max(runs["single"], key=lambda x: x["concurrency"])
        cdf = r["cdf_ms"]
        ax.plot(cdf, [i / (len(cdf) - 1) for i in range(len(cdf))], label=f"{name} (c={r['concurrency']})")
    for name in ("served-batching", "served-int8"):
        if "half_saturation" in http.get(name, {}):
            cdf = http[name]["half_saturation"]["cdf_ms"]
            ax.plot(cdf, [i / (len(cdf) - 1) for i in range(len(cdf))], "--", label=f"{name} at 50% saturation")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Latency CDF, single-text requests")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "bench_latency_cdf.png", dpi=110)
    plt.close(fig)
    return ["bench_throughput.png", "bench_latency_cdf.png"]


def int8_section(res: dict[str, Any]) -> list[str]:
    """fp32 vs the opt-in int8 variant: forward speed-up by row, scorer, served ratios, and the accuracy change."""
    if "forward_int8" not in res:
        return []
    v = res["int8_variant"]
    lines = [
        "",
        "## int8 variant (opt-in: `sentiment serve --precision int8`)",
        "",
        f"Dynamic quantization ({v['method']}), measured on the {v['measured_on']} when it was made "
        f"(training/quantize.py): AvgRec **{v['avg_recall']}** vs fp32 {v['fp32_avg_recall']} "
        f"(**{v['avg_recall_delta']:+}**), label agreement {v['label_agreement']}, largest probability difference "
        f"{v['max_abs_prob_diff']}. Activations are quantized per batch, so a text's scores move by up to "
        f"{v['max_batch_dependence']} with the other texts of its batch: fp32 stays the default (answers that do "
        "not depend on what else is in the batch), int8 is there for throughput-bound CPU deployments.",
        "",
        "| length | batch | fp32 texts/s | int8 texts/s | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for f32, i8 in zip(res["forward"], res["forward_int8"], strict=True):
        a, b = f32["forward_texts_per_s"], i8["forward_texts_per_s"]
        lines.append(f"| {f32['length']} | {f32['batch_size']} | {a:,.0f} | {b:,.0f} | {b / a:.2f}x |")
    o32, o8 = res["offline"]["texts_per_s"], res["offline_int8"]["texts_per_s"]
    lines += ["", f"Offline scorer: fp32 {o32:,.0f} texts/s, int8 {o8:,.0f} texts/s ({o8 / o32:.2f}x)."]
    r8 = res["ratios"].get("int8")
    if r8:
        lines += [
            "",
            f"Served with int8 (same run, same client): single-text req/s / echo = **{r8['served_vs_echo_rps']}**, "
            f"int8 / fp32 served req/s = {r8['served_int8_vs_fp32_rps']}, 64-text texts/s / int8 offline scorer = "
            f"{r8['served_multi_vs_offline_texts']}, p99 at 50% of its saturation ({r8['half_saturation_rate']} "
            f"req/s) = {r8['p99_ms_at_half_saturation']} ms.",
        ]
    return lines


def _layout_line(layout: dict[str, int] | None) -> str:
    if not layout:
        return "- `sentiment serve` defaults: not recorded by this run"
    return (
        f"- `sentiment serve` defaults here: {layout['workers']} workers, each running up to {layout['model_calls']} "
        f"model calls at once with {layout['intra_op_threads']} intra-op thread(s) each"
    )


def write_report(res: dict[str, Any], out_dir: Path) -> Path:
    pngs = plots(res, out_dir)
    m = res["machine"]
    r = res["ratios"]
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{res['command']}` on {res['date_utc']} in {res['bench_seconds']} s "
        "(raw numbers: [benchmarks.json](benchmarks.json)). Re-run it on a quiet machine: every figure below comes "
        "from this one run, and the goals are ratios measured side by side with the same client.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM; load average at start "
        f"{m['load_average_at_start']} (the cores are shared: absolute numbers are noisy, ratios less so)",
        f"- Python {m['python']}, torch {m['torch']} ({m['torch_threads']} intra-op threads), {m['platform']}",
        "- GPU: "
        + (
            m["gpu"]
            if m["gpu"]
            else "none. No GPU is lent to this task; everything runs on the CPU and no code path depends on one "
            "(on a GPU the predictor moves batches to the device; fp16 there is untested)."
        ),
        _layout_line(m.get("served_layout")),
        f"- model: `{res['model']}`; load generator: `loadtests/bench/loadgen.py` (closed-loop asyncio HTTP/1.1 "
        "keep-alive client in its own process; its CPU use is in the tables)",
        "",
        "## Goals",
        "",
        "| goal | measured | target | met |",
        "|---|---:|---:|:---:|",
    ]
    for key, (op, target, text) in GOALS.items():
        lines.append(f"| {text} | {r.get(key)} | {op} {target} | {_met(op, r.get(key), target)} |")
    lines += [
        "",
        f"Also: BentoML no-op / Starlette echo req/s = {r['noop_vs_echo_rps']} (BentoML's generic handler); "
        f"the project's request path without the model (middleware + hot path into BentoML's batcher, "
        f"`noop-fast-path`) / echo = {r.get('noop_fast_vs_echo_rps')}, and the served model reaches "
        f"{r.get('served_vs_noop_fast_rps')} of that ceiling ({r.get('served_rps')} vs {r.get('echo_rps')} req/s "
        "for the echo); "
        f"50% of saturation = {r['half_saturation_rate']} req/s, with {r['errors_at_half_saturation']} errors.",
    ]
    lines += side_by_side_section(res, out_dir)
    lines += [
        "",
        "## Model alone (TorchScript forward, inputs already padded)",
        "",
        "| length | batch | mean tokens | texts/s | ms/batch | collate ms/batch |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in res["forward"]:
        lines.append(
            f"| {f['length']} | {f['batch_size']} | {f['mean_tokens']} | {f['forward_texts_per_s']:,.0f} | "
            f"{f['forward_ms_per_batch']} | {f['collate_ms_per_batch']} |"
        )
    o = res["offline"]
    lines += [
        "",
        f"Offline scorer (`sentiment score`, JSONL in and out, batch 256): **{o['texts_per_s']:,.0f} texts/s** "
        f"({o['rows']} texts in {o['seconds']} s, {res['machine']['torch_threads']} intra-op threads). "
        f"Model load: {res['model_load_s']} s.",
    ]
    ost = res.get("offline_service_threads")
    if ost:
        lines += [
            "",
            f"The same scorer with the service's {ost['threads']} intra-op thread(s): {ost['texts_per_s']:,.0f} "
            f"texts/s; served 64-text requests reach {res['ratios']['served_multi_vs_offline_same_threads']} of "
            "that (like for like: the service keeps a core for its event loop).",
        ]
    lines += int8_section(res)
    lines += [
        "",
        "## Cold start (process start to /readyz = 200)",
        "",
        "| server | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v} |" for k, v in res["cold_start_s"].items()]
    lines += [
        "",
        "## HTTP: single-text requests, concurrency sweep",
        "",
        "| server | conc. | req/s | p50 ms | p95 ms | p99 ms | non-200 | server CPU cores | client CPU cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in res["http"].items():
        for x in runs["single"]:
            lines.append(
                f"| {name} | {x['concurrency']} | {x['rps']:,.0f} | {x['p50_ms']} | {x['p95_ms']} | {x['p99_ms']} | "
                f"{x['non_200']} | {x['server_cpu_cores']} | {x['client_cpu_cores']} |"
            )
    for kind, size in (("mid", 16), ("multi", 64)):
        lines += [
            "",
            f"## HTTP: {size}-text requests",
            "",
            "| server | conc. | req/s | texts/s | p50 ms | p99 ms | non-200 | server CPU | client CPU |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, runs in res["http"].items():
            for x in runs.get(kind, []):
                lines.append(
                    f"| {name} | {x['concurrency']} | {x['rps']:,.0f} | {x['texts_per_s']:,.0f} | {x['p50_ms']} | "
                    f"{x['p99_ms']} | {x['non_200']} | {x['server_cpu_cores']} | {x['client_cpu_cores']} |"
                )
    h = res["http"]["served-batching"].get("half_saturation")
    if h:
        lines += [
            "",
            f"Paced load at 50% of saturation ({h['target_rate']} req/s offered over {h['concurrency']} "
            f"connections): {h['rps']} req/s served, p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms, "
            f"**p99 {h['p99_ms']} ms**, statuses {h['status']}.",
        ]
    if "tracing" in res:
        from loadtests.bench.tracing import render as render_tracing

        lines += ["", "## Tracing (loadtests/bench/tracing.py)", "", render_tracing(res["tracing"])]
    if pngs:
        lines += ["", *[f"![{p}]({p})" for p in pngs]]
    if NOTES_FILE.exists():
        lines += ["", NOTES_FILE.read_text(encoding="utf-8").strip()]
    path = out_dir / "benchmarks.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
