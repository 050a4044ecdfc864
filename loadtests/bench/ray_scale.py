"""What it costs to grow `sentiment score --engine ray` (issue 26), measured on a 2-node local Ray cluster
(service/batch/ray_cluster.py: two `ray start` nodes in a network namespace, 2 CPUs each, token auth).

    python -m loadtests.bench.ray_scale --model build/models/tiny --rows 500000 --out build/ray-scale

1. Inputs: ``--rows`` real tweets (the SemEval data, repeated with distinct ids and a perturbed text) as one JSONL
   file and as 8 JSONL shards.
2. The local engine scores the one file: the reference.
3. Before (the driver writes; the Ray engine at ``--before``, a commit): one file -> a directory.
4. After (workers write): one file -> a directory; 8 shards -> one ``.jsonl`` (the ordered merge); one file again,
   the driver SIGKILLed at ``--kill-at`` of the pieces, then ``--resume``.

Every driver runs under ``/usr/bin/time``: its user + sys CPU seconds per million rows is the figure (the machine may
be shared: CPU time is steadier than wall time). Every Ray output is compared with the reference row by row (ids,
order, labels, scores within 1e-5). The report goes to OUT/report.json and is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from service.batch.ray_cluster import RayCluster
from service.core.paths import REPO
from service.core.reference import clean_tweets

BEFORE = "cd9f6d0"  # the last commit where the Ray driver writes every row itself


def make_inputs(out: Path, rows: int) -> tuple[Path, Path]:
    one, shards = out / "in.jsonl", out / "shards"
    if one.is_file() and shards.is_dir():
        return one, shards
    shards.mkdir(parents=True, exist_ok=True)
    tweets = clean_tweets(2000)
    lines = []
    for i in range(rows):
        t = tweets[i % len(tweets)]
        text = t.text if i < len(tweets) else f"{t.text} #{i % 997}"  # distinct rows beyond the first pass
        lines.append(json.dumps({"id": f"{t.id}-{i}", "text": text}, ensure_ascii=False) + "\n")
    one.write_text("".join(lines), encoding="utf-8")
    per = -(-rows // 8)
    for k in range(8):
        (shards / f"part-{k}.jsonl").write_text("".join(lines[k * per : (k + 1) * per]), encoding="utf-8")
    return one, shards


def timed(
    argv: list[str], env: dict[str, str], ns: list[str], out: Path, name: str, timeout: float, cwd: Path = REPO
) -> dict:
    """Run a `sentiment score` under /usr/bin/time; its CPU seconds, wall seconds and JSON summary. `cwd` is the
    code that runs (``python -m`` puts it first on sys.path)."""
    tfile = out / f"{name}.time"
    cmd = [*ns, "/usr/bin/time", "-o", str(tfile), "-f", "%U %S %e", *argv]
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{name} failed: {proc.stderr[-3000:]}")
    user, sys_, wall = (float(x) for x in tfile.read_text().split()[-3:])
    summary = json.loads(proc.stderr.strip().splitlines()[-1])
    return {"command": " ".join(argv), "user_s": user, "sys_s": sys_, "wall_s": wall, "summary": summary}


def score_argv(model: str, src: Path, dst: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "service.cli",
        "score",
        str(src),
        "-o",
        dst,
        "--model",
        model,
        "--no-progress",
        "--json",
        *extra,
    ]


def columns(path: Path) -> tuple[list[str], list[str], list[list[float]]]:
    """ids, labels and scores of an output (a .jsonl file or a directory of parquet shards), in order."""
    ids, labels, scores = [], [], []
    if path.is_dir():
        import pyarrow.parquet as pq

        for part in sorted(path.glob("part-*.parquet")):
            t = pq.read_table(part, columns=["id", "label", "scores"])
            ids += t.column("id").to_pylist()
            labels += t.column("label").to_pylist()
            scores += [list(s.values()) for s in t.column("scores").to_pylist()]
        return ids, labels, scores
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            ids.append(row["id"])
            labels.append(row["label"])
            scores.append(list(row["scores"].values()))
    return ids, labels, scores


def same_rows(a: Path, ref: tuple) -> dict:
    ids, labels, scores = columns(a)
    worst = (
        max((abs(x - y) for s, r in zip(scores, ref[2], strict=True) for x, y in zip(s, r, strict=True)), default=0.0)
        if len(scores) == len(ref[2])
        else float("inf")
    )
    return {
        "rows": len(ids),
        "same_ids_in_order": ids == ref[0],
        "same_labels": labels == ref[1],
        "max_score_diff": worst,
        "equal": ids == ref[0] and labels == ref[1] and worst <= 1e-5,
    }


def per_mrow(run: dict, rows: int) -> float:
    return round((run["user_s"] + run["sys_s"]) * 1e6 / rows, 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "default"))
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "ray-scale")
    ap.add_argument("--split-mb", default="4", help="--ray-split-mb of the after runs (pieces per file)")
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of pieces committed when the driver dies")
    ap.add_argument("--before", default=BEFORE, help="commit of the driver-writes Ray engine")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per scoring run")
    ap.add_argument("--phases", default="local,before,after", help="which runs (the report keeps earlier ones)")
    args = ap.parse_args()
    args.model = str(Path(args.model).resolve())
    phases = args.phases.split(",")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    one, shards = make_inputs(out, args.rows)
    report: dict = {"rows": args.rows, "model": args.model, "cluster": "2 nodes x 2 CPUs, one machine", "runs": {}}
    if (out / "report.json").is_file():
        report = json.loads((out / "report.json").read_text())
    runs = report["runs"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if "local" in phases:
        argv = score_argv(args.model, one, str(out / "local.jsonl"))
        runs["local"] = timed(argv, env, [], out, "local", args.timeout)
    ref = columns(out / "local.jsonl")

    before_src = out / "before"
    if not (before_src / "service").is_dir():
        before_src.mkdir(exist_ok=True)
        archive = subprocess.run(["git", "archive", args.before, "service"], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(before_src)], input=archive.stdout, check=True)
    ray_args = ("--engine", "ray", "--ray-actors", "2")
    for phase, code in (("before", before_src), ("after", REPO)):
        if phase not in phases:
            continue
        for old in out.glob(f"{phase}-*"):  # an earlier run's outputs and partial files
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        for old in out.glob("resume-*") if phase == "after" else []:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        cluster = RayCluster(pythonpath=code)
        try:
            renv = {**cluster.env, "PYTHONPATH": str(code)}
            addr = ("--ray-address", cluster.address)
            if phase == "before":
                argv = score_argv(args.model, one, f"{out / 'before-dir'}/", *ray_args, *addr)
                runs["before_file_to_dir"] = timed(argv, renv, cluster.ns, out, "before", args.timeout, before_src)
                runs["before_file_to_dir"]["compare"] = same_rows(out / "before-dir", ref)
                continue
            split = ("--ray-split-mb", args.split_mb)
            argv = score_argv(args.model, one, f"{out / 'after-dir'}/", *ray_args, *addr, *split)
            runs["after_file_to_dir"] = timed(argv, renv, cluster.ns, out, "after-dir", args.timeout)
            runs["after_file_to_dir"]["compare"] = same_rows(out / "after-dir", ref)
            argv = score_argv(args.model, shards, str(out / "after-shards.jsonl"), *ray_args, *addr, *split)
            runs["after_8_shards_to_jsonl"] = timed(argv, renv, cluster.ns, out, "after-shards", args.timeout)
            runs["after_8_shards_to_jsonl"]["compare"] = same_rows(out / "after-shards.jsonl", ref)
            runs.update(kill_and_resume(args, out, one, cluster, renv, (*ray_args, *addr, *split), ref))
        finally:
            cluster.stop()
    report["driver_cpu_s_per_million_rows"] = {k: per_mrow(v, args.rows) for k, v in runs.items() if "user_s" in v}
    if "after" in phases:
        full = runs["after_file_to_dir"]["wall_s"]
        report["resume_wall_fraction_of_full_run"] = round(runs["after_resume"]["wall_s"] / full, 3)
        records = [json.loads(p.read_text()) for p in (out / "after-dir").glob("_part-*.json")]
        rows_s = sum(r["rows"] for r in records) / sum(r["seconds"] for r in records)
        report["rows_per_s_per_actor"] = round(rows_s, 1)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


def kill_and_resume(args, out: Path, one: Path, cluster: RayCluster, env, extra, ref) -> dict:
    """The one-file job again, its driver SIGKILLed when `--kill-at` of the pieces are committed, then --resume."""
    from service.batch.splits import scan_inputs

    total = len(scan_inputs([str(one)], None, int(float(args.split_mb) * (1 << 20)))[1])
    dst = out / "resume-dir"
    argv = score_argv(args.model, one, f"{dst}/", *extra)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*cluster.ns, *argv], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    staging = out / "resume-dir.partial.parts"
    while len(list(staging.glob("_part-*.json")) if staging.is_dir() else []) < args.kill_at * total:
        if proc.poll() is not None or time.monotonic() - t0 > args.timeout:
            raise RuntimeError("the job to kill ended (or hung) before the kill point")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = {
        "pieces": total,
        "committed_at_kill": len(list(staging.glob("_part-*.json"))),
        "wall_s": round(time.monotonic() - t0, 2),
    }
    resumed = timed([*argv, "--resume"], env, cluster.ns, out, "resume", args.timeout)
    resumed["compare"] = same_rows(dst, ref)
    return {"after_killed_run": killed, "after_resume": resumed}


if __name__ == "__main__":
    raise SystemExit(main())
