"""A fast closed-loop HTTP/1.1 load generator (stdlib asyncio, keep-alive connections).

Each of ``concurrency`` connections sends a POST, waits for the whole answer and sends the next one (closed
loop); with ``rate`` set, requests follow a fixed schedule of ``rate`` per second spread over the connections
(paced load, for latency at a fraction of saturation). It runs in its own process so its CPU use can be
reported next to the server's: ``python -m loadtests.bench.loadgen --url http://127.0.0.1:3000/predict
--bodies bodies.json --concurrency 64 --duration 5`` prints one JSON object.

It is much cheaper per request than locust (which is for realistic scenarios, see loadtests/): on the 2-core
bench machine the client must not be the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

CDF_POINTS = 101  # quantiles kept of the latency distribution (for the CDF plots)


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    requests: int = 0
    texts: int = 0
    status: dict[str, int] = field(default_factory=dict)
    errors: int = 0  # connection errors (no HTTP status)
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    rate: float | None = None

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms or [float("nan")])
        ok = self.status.get("200", 0)
        return {
            "concurrency": self.concurrency,
            "target_rate": self.rate,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "ok": ok,
            "non_200": self.requests - ok,
            "status": self.status,
            "connection_errors": self.errors,
            "rps": round(ok / self.seconds, 1),
            "texts_per_s": round(self.texts / self.seconds, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(lat.max()), 2),
            "cdf_ms": [round(float(x), 3) for x in np.percentile(lat, np.linspace(0, 100, CDF_POINTS))],
            "client_cpu_s": round(self.client_cpu_s, 3),
            "client_cpu_cores": round(self.client_cpu_s / self.seconds, 3),
        }


def build_request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response, return its status code. Handles Content-Length and chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    i = lower.find(b"content-length:")
    if i >= 0:
        n = int(lower[i + 15 : lower.index(b"\r\n", i)])
        await reader.readexactly(n)
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _worker(
    wid: int,
    host: str,
    port: int,
    requests: list[tuple[bytes, int]],
    res: LoadResult,
    start: float,
    warm_end: float,
    end: float,
    interval: float | None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    k = wid
    nxt = start + (wid * interval / max(1, res.concurrency) if interval else 0.0)
    try:
        while True:
            now = time.perf_counter()
            if now >= end:
                return
            if interval:
                if nxt > now:
                    await asyncio.sleep(nxt - now)
                nxt += interval
            payload, n_texts = requests[k % len(requests)]
            k += res.concurrency
            t0 = time.perf_counter()
            status = 0
            for attempt in range(2):  # a keep-alive connection the server closed while idle: retry once on a new one
                try:
                    writer.write(payload)
                    status = await _read_response(reader)
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    if attempt == 0:
                        t0 = time.perf_counter()
            if not status:
                if t0 >= warm_end:
                    res.errors += 1
                continue
            t1 = time.perf_counter()
            if t0 >= warm_end and t1 <= end:
                res.requests += 1
                res.status[str(status)] = res.status.get(str(status), 0) + 1
                res.latencies_ms.append((t1 - t0) * 1000.0)
                if status == 200:
                    res.texts += n_texts
    finally:
        writer.close()


async def run_load(
    url: str,
    bodies: list[list[str]],
    concurrency: int,
    duration: float,
    warmup: float = 1.0,
    rate: float | None = None,
) -> LoadResult:
    """Send ``{"texts": body}`` POSTs to ``url``; only requests started after ``warmup`` s are counted."""
    u = urlsplit(url)
    host, port, path = u.hostname or "127.0.0.1", u.port or 80, u.path or "/"
    requests = [(build_request(host, port, path, json.dumps({"texts": b}).encode()), len(b)) for b in bodies]
    res = LoadResult(concurrency=concurrency, seconds=duration, rate=rate)
    interval = concurrency / rate if rate else None  # seconds between two requests of one connection
    cpu0 = time.process_time()
    start = time.perf_counter()
    warm_end, end = start + warmup, start + warmup + duration
    await asyncio.gather(
        *(_worker(i, host, port, requests, res, start, warm_end, end, interval) for i in range(concurrency))
    )
    res.client_cpu_s = (time.process_time() - cpu0) * duration / (time.perf_counter() - start)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--bodies", required=True, help="JSON file: a list of requests, each a list of texts")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--rate", type=float, default=None, help="paced load: requests per second in total")
    args = p.parse_args(argv)
    with open(args.bodies, encoding="utf-8") as f:
        bodies = json.load(f)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    res = asyncio.run(run_load(args.url, bodies, args.concurrency, args.duration, args.warmup, args.rate))
    json.dump(res.summary(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
