"""Fault injection: a worker SIGKILLed under load, SIGTERM with requests in flight, a batch job killed mid-way and
resumed, and output that cannot be written (missing directory, a file as directory, a full disk)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from loadtests.reliability.overload import Sample, request_body, send_one
from loadtests.reliability.server import Server, http_status
from service.core.paths import REPO


class _Load:
    """Closed-loop load in a background thread until stopped; keeps every sample with its start time."""

    def __init__(self, url: str, body: bytes, concurrency: int, timeout: float) -> None:
        self.url, self.body, self.concurrency, self.timeout = url, body, concurrency, timeout
        self.samples: list[tuple[float, Sample]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True)) as session:

            async def worker() -> None:
                while not self._stop.is_set():
                    t = time.monotonic()
                    s = await send_one(session, self.url, self.body, self.timeout)
                    self.samples.append((t, s))
                    if s.status is None:
                        await asyncio.sleep(0.05)  # connection refused: don't spin

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 10)


def kill_worker_under_load(
    server: Server,
    *,
    concurrency: int = 8,
    server_timeout_s: float = 30.0,
    settle_s: float = 1.5,
    limit_s: float = 90.0,
) -> dict[str, Any]:
    """SIGKILL one model worker while `concurrency` clients send requests; measure how requests end and how long
    until the service answers 200 again (from a new worker)."""
    workers = server.workers()
    if not workers:
        raise RuntimeError("no worker process found under the server")
    victim = workers[0].pid
    client_timeout = server_timeout_s + 5
    with _Load(server.url + "/predict", request_body(8), concurrency, client_timeout) as load:
        time.sleep(settle_s)
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        recovered_at = None
        while time.monotonic() - t_kill < limit_s:
            time.sleep(0.1)
            after = [s for t, s in list(load.samples) if t > t_kill + 0.05 and s.status == 200]
            if after:
                recovered_at = time.monotonic()
                break
        time.sleep(1.0)
    samples = [s for _, s in load.samples]
    new_workers = [w.pid for w in server.workers()]
    return {
        "requests": len(samples),
        "ok": sum(1 for s in samples if s.status == 200),
        "failed_http": sum(1 for s in samples if s.status is not None and s.status != 200),
        "statuses": sorted({s.status for s in samples if s.status is not None}),
        "connection_errors": sum(1 for s in samples if s.status is None and s.error != "client timeout"),
        "hung_past_timeout": sum(1 for s in samples if s.seconds > server_timeout_s + 1),
        "max_latency_s": round(max((s.seconds for s in samples), default=0.0), 3),
        "killed_pid": victim,
        "worker_restarted": bool(new_workers) and victim not in new_workers,
        "recovery_s": round(recovered_at - t_kill, 2) if recovered_at else None,
        "server_alive": server.proc.poll() is None,
        "ready_after": http_status(server.url + "/readyz") == 200,
    }


def sigterm_drain(
    server: Server, *, in_flight: int = 12, texts: int = 256, server_timeout_s: float = 30.0
) -> dict[str, Any]:
    """Send `in_flight` slow requests, SIGTERM the server's main process while they run, and count how they end
    (a graceful shutdown finishes them) and how long the server takes to exit."""
    body = request_body(texts)
    url = server.url + "/predict"
    results: list[Sample] = []

    async def fire() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            tasks = [asyncio.create_task(send_one(session, url, body, server_timeout_s + 5)) for _ in range(in_flight)]
            await asyncio.sleep(0.4)  # all sent and being worked on
            os.kill(server.pid, signal.SIGTERM)
            results.extend(await asyncio.gather(*tasks))

    t0 = time.monotonic()
    asyncio.run(fire())
    try:
        server.proc.wait(timeout=server_timeout_s + 10)
        exit_s: float | None = round(time.monotonic() - t0, 2)
    except subprocess.TimeoutExpired:
        exit_s = None
    return {
        "in_flight": in_flight,
        "completed_200": sum(1 for s in results if s.status == 200),
        "failed": sum(1 for s in results if s.status != 200),
        "statuses": sorted({str(s.status or s.error) for s in results}),
        "exit_seconds": exit_s,
        "exit_code": server.proc.returncode,
    }


# ---------------------------------------------------------------------------------------------------------------
# batch scoring


def write_input(path: Path, rows: int, bad_every: int = 97) -> tuple[set[str], set[str]]:
    """A JSONL input with `rows` rows, every `bad_every`-th one unscorable; returns (good ids, bad ids)."""
    good, bad = set(), set()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            rid = f"r{i}"
            if i % bad_every == bad_every - 1:
                f.write(json.dumps({"id": rid, "text": "   "}) + "\n")
                bad.add(rid)
            else:
                f.write(json.dumps({"id": rid, "text": f"tweet number {i} :) I love it {i % 7}"}) + "\n")
                good.add(rid)
    return good, bad


def _score_cmd(model_dir: Path | str, inp: Path | str, out: Path | str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "service.cli",
        "score",
        str(inp),
        "-o",
        str(out),
        "--model",
        str(model_dir),
        "--no-progress",
        *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def read_output_ids(path: Path) -> list[str]:
    ids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                ids.append(str(json.loads(line)["id"]))
    return ids


def batch_kill_and_resume(
    model_dir: Path | str, workdir: Path, *, rows: int = 20_000, kill_limit_s: float = 120.0, timeout_s: float = 300.0
) -> dict[str, Any]:
    """Start `sentiment score`, SIGKILL it as soon as its partial output has rows on disk (mid-job), run it again
    with ``--resume``, and count rows lost and duplicated against the input (rejects count as delivered)."""
    workdir.mkdir(parents=True, exist_ok=True)
    inp, out = workdir / "input.jsonl", workdir / "scored.jsonl"
    good, bad = write_input(inp, rows)
    proc = subprocess.Popen(
        _score_cmd(model_dir, inp, out, "--batch-size", "64"),
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = False
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < kill_limit_s:
        if any(p.stat().st_size > 0 for p in workdir.glob("scored.jsonl*") if "rejects" not in p.name):
            proc.kill()
            killed = True
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        killed = True
    proc.wait(timeout=10)
    partial_rows = sum(
        1 for p in workdir.glob("scored.jsonl*") if p.name != "scored.jsonl.rejects.jsonl" for _ in open(p, "rb")
    )
    resumed = subprocess.run(
        _score_cmd(model_dir, inp, out, "--resume"),
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    result: dict[str, Any] = {
        "rows": rows,
        "good_rows": len(good),
        "bad_rows": len(bad),
        "killed_mid_job": killed,
        "rows_on_disk_at_kill": partial_rows,
        "resume_exit_code": resumed.returncode,
        "resume_stderr": resumed.stderr.strip()[-400:],
    }
    if resumed.returncode != 0 or not out.exists():
        return {**result, "rows_out": None, "lost": None, "duplicated": None, "exactly_once": False}
    ids = read_output_ids(out)
    rejects = workdir / "scored.jsonl.rejects.jsonl"
    reject_ids = (
        [str(json.loads(x)["id"]) for x in rejects.read_text().splitlines() if x.strip()] if rejects.exists() else []
    )
    seen = ids + reject_ids
    dup = len(seen) - len(set(seen))
    lost = len((good | bad) - set(seen))
    return {
        **result,
        "rows_out": len(ids),
        "rejects_out": len(reject_ids),
        "lost": lost,
        "duplicated": dup,
        "unexpected": len(set(seen) - (good | bad)),
        "exactly_once": dup == 0 and lost == 0 and set(ids) == good,
    }


def _clear(stderr: str) -> bool:
    return "error" in stderr.lower() and "Traceback" not in stderr


def unwritable_outputs(model_dir: Path | str, workdir: Path, *, fsize_limit: int = 16 * 1024) -> list[dict[str, Any]]:
    """`sentiment score` into outputs that cannot be written. Each must exit non-zero with a one-line error,
    leave no final output file behind, and leave the input untouched."""
    workdir.mkdir(parents=True, exist_ok=True)
    inp = workdir / "input.jsonl"
    write_input(inp, 400)
    before = inp.read_bytes()
    (workdir / "a_file").write_text("x")
    cases: list[dict[str, Any]] = []

    def run(name: str, out: str, **kw: Any) -> None:
        kw.setdefault("stdout", subprocess.DEVNULL)
        p = subprocess.run(
            _score_cmd(model_dir, inp, out), cwd=REPO, env=_env(), stderr=subprocess.PIPE, timeout=180, **kw
        )
        stderr = p.stderr.decode("utf-8", "replace")
        final = Path(out)
        cases.append(
            {
                "case": name,
                "exit_code": p.returncode,
                "clear_error": p.returncode != 0 and _clear(stderr),
                "no_final_output": out == "-" or not final.exists() or final.is_dir(),
                "input_untouched": inp.read_bytes() == before,
                "message": stderr.strip().splitlines()[-1][:300] if stderr.strip() else "",
            }
        )

    # (a missing output directory is not a failure: `sentiment score` creates it)
    run("output parent is a file", str(workdir / "a_file" / "out.jsonl"))
    run("output is a directory", str(workdir))
    with open("/dev/full", "wb") as full:
        run("disk full (stdout is /dev/full)", "-", stdout=full)

    def small_fsize() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    run(
        f"file size limit {fsize_limit // 1024} KiB (disk fills mid-job)",
        str(workdir / "big.jsonl"),
        preexec_fn=small_fsize,
    )
    return cases
