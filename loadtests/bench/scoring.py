"""Batch-scoring benchmark: scorer throughput vs raw TorchScript forward, and peak RSS vs input size.

    python -m loadtests.bench.scoring --model models/default  # writes build/bench/batch-scoring-bench.{md,json}
    python -m loadtests.bench.scoring --model build/dry/dry --rows 20000 --rss-rows 10000 1000000

* **throughput ratio**: `sentiment score` end to end (read JSONL, tokenise, encode, length-sort, forward, write
  JSONL, commit) in rows/s, divided by the rows/s of the bare ``module(word, sub, lengths)`` calls on the very same
  length-sorted, pre-collated batches of the same size. Measured with 1 torch thread and the default thread count.
  Goal: >= 0.8.
* **peak RSS**: the job run in a fresh process on 10k and 1M rows (``ru_maxrss`` of the child). Goal: flat.

`run_bench()` is the function a future ``sentiment-lab bench`` calls.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from service.core.paths import DATA_DIR, REPO
from service.core.semeval import folder_texts


def tweets(data_dir: Path = DATA_DIR, limit: int = 50_000) -> list[str]:
    """Real tweets for the benchmark corpus (the SemEval files; synthetic texts if they are absent)."""
    out = folder_texts(data_dir)[:limit]
    if not out:
        words = [
            "good",
            "bad",
            "awful",
            "great",
            "meh",
            "today",
            "tomorrow",
            "game",
            "flight",
            "love",
            "hate",
            "the",
            "a",
            "is",
            "not",
            "very",
        ]
        out = [" ".join(words[(i * k) % len(words)] for k in range(3, 3 + i % 20)) for i in range(1, 5000)]
    return out[:limit]


def write_corpus(path: Path, rows: int, texts: list[str]) -> Path:
    """A JSONL file of `rows` rows cycling through `texts` (written once, reused)."""
    if path.is_file() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) == rows:
                return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for i, t in zip(range(rows), itertools.cycle(texts), strict=False):
            f.write(json.dumps({"id": f"r{i}", "text": t, "source": "bench"}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def raw_forward_rate(model_dir: Path, texts: list[str], batch_size: int, window: int) -> float:
    """Rows/s of the bare TorchScript forward on length-sorted, pre-collated batches (as the scorer forms them)."""
    import torch

    from service.core.artifact import load_artifact
    from service.core.features import collate

    art = load_artifact(model_dir, "cpu")
    enc = art.encoder
    batches = []
    for w in range(0, len(texts), window):
        encoded = sorted((enc.encode(t) for t in texts[w : w + window]), key=lambda e: e.length)
        for s in range(0, len(encoded), batch_size):
            batches.append(collate(encoded[s : s + batch_size]))  # (B,T) (B,T,S) (B,)
    with torch.no_grad():
        art.module(*batches[0])  # warm-up
        t0 = time.perf_counter()
        for word, sub, lengths in batches:
            art.module(word, sub, lengths)  # (B, C)
        dt = time.perf_counter() - t0
    return len(texts) / dt


def scorer_rate(model_dir: Path, corpus: Path, out: Path, batch_size: int, window: int) -> float:
    from service.batch.engines.local import score_file
    from service.core.artifact import load_artifact

    art = load_artifact(model_dir, "cpu")
    summary = score_file(art, str(corpus), str(out), batch_size=batch_size, window=window, progress=False, restart=True)
    out.unlink(missing_ok=True)
    return summary.rows / summary.seconds


def _child_rss(model_dir: Path, corpus: Path, out: Path, batch_size: int, window: int) -> dict[str, Any]:
    """Score `corpus` in a fresh process; its peak RSS (MiB) and rows/s."""
    code = (
        "import json,resource; from service.core.artifact import load_artifact; "
        "from service.batch.engines.local import score_file; "
        f"s=score_file(load_artifact({str(model_dir)!r},'cpu'), {str(corpus)!r}, {str(out)!r}, "
        f"batch_size={batch_size}, window={window}, progress=False, restart=True).as_dict(); "
        "s['peak_rss_kib']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(json.dumps(s))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {proc.stderr[-2000:]}")
    out.unlink(missing_ok=True)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "rows": summary["rows"],
        "peak_rss_mib": round(summary["peak_rss_kib"] / 1024, 1),
        "rows_per_second": summary["rows_per_second"],
    }


def run_bench(
    model_dir: str | Path,
    *,
    rows: int = 20_000,
    rss_rows: tuple[int, ...] = (10_000, 1_000_000),
    batch_size: int = 256,
    window: int = 4096,
    threads: tuple[int, ...] = (1, 0),
    work_dir: str | Path = REPO / "build" / "bench-scoring",
    docs_dir: str | Path | None = REPO / "build" / "bench",
    rss_model_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark; write batch-scoring-bench.{md,json} to `docs_dir` when set. 0 threads = default."""
    import torch

    model_dir, work_dir = Path(model_dir), Path(work_dir)
    from service.core.artifact import load_artifact

    manifest = load_artifact(model_dir, "cpu").manifest
    texts_pool = tweets()
    corpus = write_corpus(work_dir / f"corpus-{rows}.jsonl", rows, texts_pool)
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    default_threads = torch.get_num_threads()
    throughput = []
    for n_threads in threads:
        torch.set_num_threads(n_threads or default_threads)
        raw = raw_forward_rate(model_dir, texts, batch_size, window)
        scored = scorer_rate(model_dir, corpus, work_dir / "out.jsonl", batch_size, window)
        throughput.append(
            {
                "torch_threads": n_threads or default_threads,
                "raw_forward_rows_per_s": round(raw, 1),
                "scorer_rows_per_s": round(scored, 1),
                "ratio": round(scored / raw, 3),
            }
        )
    torch.set_num_threads(default_threads)
    rss = []
    for n in rss_rows:
        big = write_corpus(work_dir / f"corpus-{n}.jsonl", n, texts_pool)
        rss.append(_child_rss(Path(rss_model_dir or model_dir), big, work_dir / "rss-out.jsonl", batch_size, window))
    result = {
        "model": manifest.name,
        "model_version": manifest.version,
        "batch_size": batch_size,
        "window": window,
        "rows": rows,
        "throughput": throughput,
        "peak_rss": rss,
        "rss_model": str(rss_model_dir or model_dir),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if docs_dir is not None:
        write_report(result, Path(docs_dir))
    return result


def write_report(result: dict[str, Any], docs_dir: Path) -> None:
    docs_dir.mkdir(parents=True, exist_ok=True)
    (docs_dir / "batch-scoring-bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Batch scoring benchmark",
        "",
        f"Model `{result['model_version']}`, batch size {result['batch_size']}, window {result['window']}, "
        f"{result['machine']['cpus']} CPUs (load average at the end: {result['machine']['load_avg_at_end']}), "
        f"{result['date']}. Produced by `python -m loadtests.bench.scoring` (raw numbers in batch-scoring-bench.json).",
        "",
        f"## Throughput: `sentiment score` vs the bare TorchScript forward ({result['rows']:,} rows, goal >= 0.8)",
        "",
        "| torch threads | raw forward rows/s | scorer rows/s (end to end) | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for t in result["throughput"]:
        lines.append(
            f"| {t['torch_threads']} | {t['raw_forward_rows_per_s']:,.0f} | {t['scorer_rows_per_s']:,.0f} | "
            f"{t['ratio']:.2f} |"
        )
    lines += [
        "",
        "## Peak memory vs input size (goal: flat)",
        "",
        f"Each size scored in a fresh process (`ru_maxrss`), model `{result['rss_model']}`.",
        "",
        "| rows | peak RSS (MiB) | rows/s |",
        "|---:|---:|---:|",
    ]
    for r in result["peak_rss"]:
        lines.append(f"| {r['rows']:,} | {r['peak_rss_mib']:,.0f} | {r['rows_per_second']:,.0f} |")
    lines.append("")
    (docs_dir / "batch-scoring-bench.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.bench.scoring", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO / "models" / "default"))
    p.add_argument("--rows", type=int, default=20_000, help="rows for the throughput comparison")
    p.add_argument("--rss-rows", type=int, nargs="*", default=[10_000, 1_000_000], help="input sizes for peak RSS")
    p.add_argument("--rss-model", default=None, help="model for the RSS runs (default: --model)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--window", type=int, default=4096)
    p.add_argument("--threads", type=int, nargs="*", default=[1, 0], help="torch threads to try (0 = default)")
    p.add_argument(
        "--docs",
        default=str(REPO / "build" / "bench"),
        help="where to write the report (default: build/bench; docs/ holds the cited run; '' = do not write)",
    )
    a = p.parse_args(argv)
    result = run_bench(
        a.model,
        rows=a.rows,
        rss_rows=tuple(a.rss_rows),
        batch_size=a.batch_size,
        window=a.window,
        threads=tuple(a.threads),
        docs_dir=a.docs or None,
        rss_model_dir=a.rss_model,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
