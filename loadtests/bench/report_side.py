"""The side-by-side part of docs/benchmarks.md: the model limit, the project, ``--no-batching`` and the
hand-written Starlette peer for 1-, 16- and 64-text requests (table + bar plot), and the in-process layouts of
model calls x intra-op threads that chose the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests.bench.ratios import KINDS

LABELS = {
    "served-batching": "`sentiment serve` (defaults: adaptive batching)",
    "served-no-batching": "`sentiment serve --no-batching`",
    "starlette-peer": "hand-written Starlette peer (loadtests/bench/peer_app.py)",
}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def plot(sbs: dict[str, Any], out_dir: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = list(sbs["rows"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.8 / max(1, len(names))
    for j, name in enumerate(names):
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(KINDS))]
        ax.bar(xs, [sbs["rows"][name][k]["texts_per_s"] for k in KINDS], width, label=name)
    ax.axhline(sbs["limit_texts_per_s"], color="black", linestyle="--", label="model limit")
    ax.set_xticks(range(len(KINDS)), [f"{n}-text requests" for n in KINDS.values()])
    ax.set_ylabel("texts/s (best over the connection levels)")
    ax.set_title("Texts/s by request size, against the model limit")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "bench_side_by_side.png", dpi=110)
    plt.close(fig)
    return "bench_side_by_side.png"


def section(res: dict[str, Any], out_dir: Path) -> list[str]:
    if "model_limit" not in res or "side_by_side" not in res["ratios"]:
        return []
    sbs, lim = res["ratios"]["side_by_side"], res["model_limit"]
    lines = [
        "",
        "## Side by side: the model limit, the project, `--no-batching`, a hand-written peer",
        "",
        f"**Model limit**: {lim['processes']} processes (one per core), {lim['intra_op_threads']} intra-op thread "
        f"each, in-process `Predictor` on {lim['batch']}-text batches of real tweets for {lim['seconds']} s, all at "
        f"once (loadtests/bench/model_limit.py): **{lim['texts_per_s']:,.0f} texts/s** (per process: "
        + ", ".join(f"{p['texts_per_s']:,.0f}" for p in lim["per_process"])
        + f"; the higher of {len(lim.get('runs', [1]))} measurements, before and after the servers: "
        + ", ".join(f"{x:,.0f}" for x in lim.get("runs", [lim["texts_per_s"]]))
        + "). Each server below: best texts/s over its connection levels (tables further down), same client.",
        "",
        "| server | " + " | ".join(f"{n}-text texts/s | ÷ limit | ÷ peer" for n in KINDS.values()) + " |",
        "|---|" + "---:|---:|---:|" * len(KINDS),
    ]
    for name, row in sbs["rows"].items():
        cells = [
            f"{row[k]['texts_per_s']:,.0f} | {_fmt(row[k]['vs_limit'])} | {_fmt(row[k]['vs_peer'])}" for k in KINDS
        ]
        lines.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    o = res["offline"]
    lines += [
        "",
        f"Offline scorer (`sentiment score`, one model call per core): {o['texts_per_s']:,.0f} texts/s = "
        f"**{_fmt(sbs['offline_vs_limit'])}** of the model limit. Ray Serve is not in the comparison: `ray[serve]` "
        "(FastAPI and its server stack) is not in the dev extras, only `ray[data]`.",
    ]
    png = plot(sbs, out_dir)
    if png:
        lines += ["", f"![{png}]({png})"]
    layouts = res.get("thread_layouts")
    if layouts:
        lines += [
            "",
            "In process, real tweets in 256-text windows, one configuration after the other "
            "(model_bench.thread_layouts): why the defaults are one model call per core with one intra-op thread.",
            "",
            "| concurrent model calls | intra-op threads each | texts/s |",
            "|---:|---:|---:|",
            *[f"| {x['calls']} | {x['intra_op_threads']} | {x['texts_per_s']:,.0f} |" for x in layouts],
        ]
    return lines
