"""docs/reliability.md and its JSON twin from the scenario results of `sentiment-lab reliability run`."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(scenario, figures, ok) for the table; a scenario that raised shows its error."""
    rows: list[tuple[str, str, bool | None]] = []

    def add(name: str, key: str, fig: Any, ok: Any) -> None:
        r = results.get(key)
        if r is None:
            return
        if isinstance(r, dict) and "error" in r and len(r) <= 2:
            rows.append((name, f"not run: {r['error']}", None))
            return
        try:
            rows.append((name, fig(r), ok(r)))
        except (KeyError, TypeError) as e:
            rows.append((name, f"incomplete result ({e})", None))

    add(
        "Bad input: hand-written + hypothesis bodies, raw HTTP",
        "badinput",
        lambda r: (
            f"{r['cases']} cases ({r['hand_written']} hand, {r['generated']} generated): "
            f"{r['count_4xx']} 4xx, {r['count_2xx']} 2xx, **{r['count_5xx']} 5xx**, {r['no_response']} dropped; "
            f"{len(r['violations'])} missed expectation; healthy after: {r['healthy_after']}"
        ),
        lambda r: r["count_5xx"] == 0 and not r["violations"] and r["healthy_after"],
    )
    add(
        "Schemathesis on /docs.json",
        "schema",
        lambda r: (
            f"{r['test_cases']} test cases on {r['operations_tested']} operations: "
            f"**{r['server_errors']} server errors**, {r['schema_violations']} schema violations"
        ),
        lambda r: r["server_errors"] == 0 and r["schema_violations"] == 0,
    )
    add(
        "Overload: 3x saturation, open loop",
        "overload",
        lambda r: (
            f"saturation {r['saturation_rps']} req/s ({r['texts_per_request']} texts each); offered "
            f"{r['offered_rps']} req/s for {r['seconds']} s: {r['sent']} sent, {r['ok']} ok, {r['shed']} shed "
            f"{r['shed_statuses']} (rate {r['shed_rate']}, p50 {r['shed_p50_s']} s), {r['server_errors']} other 5xx, "
            f"{r['no_answer']} unanswered, {r['hung_past_timeout']} past timeout; admitted p99 {r['ok_p99_s']} s "
            f"(timeout {r['server_timeout_s']} s); RSS {r['rss_before_mb']} -> peak {r['rss_peak_mb']} -> "
            f"{r['rss_after_mb']} MB; recovery {r['recovery_s']} s"
        ),
        lambda r: (
            r["server_errors"] == 0
            and r["hung_past_timeout"] == 0
            and r["no_answer"] == 0
            and r["recovery_s"] != float("inf")
            and r["shed"] > 0
        ),
    )
    add(
        "SIGKILL a worker under load",
        "kill_worker",
        lambda r: (
            f"{r['requests']} requests: {r['ok']} ok, {r['failed_http']} HTTP errors {r['statuses']}, "
            f"{r['connection_errors']} connection errors, {r['hung_past_timeout']} past timeout "
            f"(max {r['max_latency_s']} s); worker restarted: {r['worker_restarted']}; recovery {r['recovery_s']} s"
        ),
        lambda r: r["hung_past_timeout"] == 0 and r["recovery_s"] is not None and r["server_alive"],
    )
    add(
        "SIGTERM with requests in flight",
        "sigterm",
        lambda r: (
            f"{r['completed_200']}/{r['in_flight']} in-flight requests completed 200 "
            f"({r['statuses']}); exited after {r['exit_seconds']} s with code {r['exit_code']}"
        ),
        lambda r: r["completed_200"] == r["in_flight"] and r["exit_seconds"] is not None,
    )
    add(
        "Batch scoring SIGKILLed mid-job, then --resume",
        "batch_resume",
        lambda r: (
            f"{r['rows']} rows ({r['bad_rows']} bad), killed mid-job: {r['killed_mid_job']} "
            f"({r['rows_on_disk_at_kill']} rows on disk); resume exit {r['resume_exit_code']}: "
            f"**lost {r['lost']}, duplicated {r['duplicated']}**"
        ),
        lambda r: bool(r["exactly_once"]),
    )
    add(
        "Unwritable / full output",
        "unwritable",
        lambda r: "; ".join(f"{c['case']}: exit {c['exit_code']}, {c['message'][:90]!r}" for c in r),
        lambda r: all(c["clear_error"] and c["no_final_output"] and c["input_untouched"] for c in r),
    )
    add(
        "Model integrity (tampered, mismatched, pickled, escaping)",
        "integrity",
        lambda r: (
            f"{r['cases']} broken model dirs: {r['refused']} refused, {r['clear_message']} with the specific "
            f"message, {r['unpickled']} unpickled; serve exits "
            f"{r['serve_start']['exit_code'] if r['serve_start'] else 'n/a'} at start; "
            f"unsafe load calls in service/: {len(r['pickle_loads_in_service'])}"
        ),
        lambda r: (
            r["refused"] == r["cases"]
            and r["clear_message"] == r["cases"]
            and r["unpickled"] == 0
            and not r["pickle_loads_in_service"]
        ),
    )
    add(
        "API key (health endpoints open)",
        "api_key",
        lambda r: (
            f"no key {r['no_header']}, wrong key {r['wrong_key']}, prefix {r['key_prefix_only']}, "
            f"Basic {r['wrong_scheme']}, right key {r['right_key']}; health without key {r['health_without_key']}"
        ),
        lambda r: r["all_wrong_denied_401"] and r["right_key_ok"] and r["health_open"],
    )
    add(
        "Constant-time key comparison (static)",
        "constant_time",
        lambda r: (
            f"compare_digest at {r['compare_digest_at'] or 'nowhere'}; "
            f"plain comparisons: {r['plain_comparisons'] or 'none'}"
        ),
        lambda r: r["ok"],
    )
    add(
        "No management/debug endpoints",
        "endpoints",
        lambda r: (
            f"OpenAPI paths {r['openapi_paths']}; {r['debug_paths_probed']} debug paths probed, exposed: "
            f"{list(r['debug_paths_exposed']) or 'none'}; pages (/, /docs) load third-party scripts: "
            f"{r['root_loads_third_party_scripts']}"
        ),
        lambda r: r["ok"],
    )
    add(
        "Body-size limit before parsing",
        "size_limit",
        lambda r: (
            f"limit {r['limit_bytes']} B; announced 64x body with none sent -> "
            f"{r['announced_oversize_status']} in {r['announced_oversize_seconds']} s; chunked oversize -> "
            f"{r['chunked_oversize_status']}"
        ),
        lambda r: r["ok"],
    )
    add(
        "Dependency audit (pip-audit)",
        "audit",
        lambda r: (
            f"{r['scope']}: "
            + (f"{r['audited']} audited, {len(r['vulnerabilities'])} vulnerabilities" if r.get("ran") else "not run")
            + (f"; {r['error']}" if r.get("error") else "")
        ),
        lambda r: None if (not r.get("ran") or r.get("error")) else not r["vulnerabilities"],
    )
    add(
        "Container runs as non-root",
        "container",
        lambda r: ", ".join(f"{k}: USER {v['user']}" for k, v in r["dockerfiles"].items()) or "no Dockerfile found",
        lambda r: r["ok"] if r["dockerfiles"] else None,
    )
    return rows


def _details(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    b = results.get("badinput")
    if b and "by_category" in b:
        out += ["", "### Bad input by category", "", "| category | answers |", "|---|---|"]
        out += [f"| {k} | {', '.join(f'{n} {c}' for c, n in sorted(v.items()))} |" for k, v in b["by_category"].items()]
        if b["violations"]:
            out += ["", "Missed expectations:", ""]
            out += [
                f"- {v['name']} (expected {v['expect']}): {v['status']} {v['message'][:120]!r}" for v in b["violations"]
            ]
    s = results.get("schema")
    if s and s.get("failures"):
        out += ["", "### Schemathesis failures", "", "```", s.get("details", "")[:2500], "```"]
    o = results.get("overload")
    if o and "ramp" in o:
        out += [
            "",
            "### Saturation ramp (closed loop)",
            "",
            "| concurrency | req/s | p50 s | non-200 |",
            "|---|---|---|---|",
        ]
        out += [f"| {r['concurrency']} | {r['rps']} | {r['p50_s']} | {r['non_200']} |" for r in o["ramp"]]
    i = results.get("integrity")
    if i and "results" in i:
        out += ["", "### Model integrity cases", "", "| case | refused | message |", "|---|---|---|"]
        for r in i["results"]:
            if "skipped" in r:
                out.append(f"| {r['case']} | skipped | {r['skipped']} |")
            else:
                out.append(f"| {r['case']} | {r['refused']} | {r['message'][:140].replace('|', '/')} |")
    return out


def render(results: dict[str, Any], command: str) -> str:
    rows = summary_rows(results)
    lines = [
        "# Reliability and security",
        "",
        "Produced by `"
        + command
        + "` on "
        + results.get("meta", {}).get("date", "?")
        + f" ({os.cpu_count()} CPU cores, {platform.python_implementation()} {platform.python_version()}). "
        "The same scenarios run, bounded, in the test suite (`tests/service/test_reliability_*.py`, "
        "`tests/service/test_fuzz_*.py`).",
        "",
        f"Model: `{results.get('meta', {}).get('model', '?')}`. Load average (1/5/15 min) at start "
        f"{results.get('meta', {}).get('load_average_at_start', '?')}, at end "
        f"{results.get('meta', {}).get('load_average_at_end', '?')}: latency and saturation figures are only "
        "comparable between runs on an otherwise idle machine.",
        "",
        "| scenario | figures | result |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {fig} | {_verdict(ok)} |" for name, fig, ok in rows]
    lines += _details(results)
    lines += COMMANDS.splitlines()
    return "\n".join(lines) + "\n"


COMMANDS = """
## Commands

```bash
# every scenario, bounded (a few minutes on 2 cores); writes docs/reliability.md and docs/reliability.json
sentiment-lab reliability --model models/default --other-model build/other
# only some scenarios
sentiment-lab reliability --scenarios badinput,schema,security --generated 1000 --schema-examples 100
# the long overload run (3x saturation for 2 minutes), kept out of the test suite
sentiment-lab reliability --scenarios overload --overload-seconds 120 --out build/overload.md --json build/overload.json
# pip-audit of the whole environment instead of the pinned runtime dependencies
sentiment-lab reliability --scenarios audit --full-audit --out build/audit.md --json build/audit.json
# the same scenarios as tests (slow ones included)
python -m pytest tests/service/test_reliability_*.py tests/service/test_fuzz_*.py
```

What each scenario does:

* **Bad input**: every case is sent as raw bytes over a socket (`loadtests/reliability/rawhttp.py`), one
  connection each: invalid JSON and UTF-8, lone surrogates, 100,000-deep nesting, 16 MiB bodies, wrong types and
  nulls, empty/blank/giant texts, too many texts, control characters, wrong content types and methods, chunked
  bodies, lying `Content-Length`, a slow body, a 64 KiB header; plus hypothesis-generated JSON bodies and byte
  mutations of a valid body, each with an oracle (`expected_for`) saying whether it must be 2xx or 4xx. Afterwards
  the server must still be ready and answer a valid request.
* **Schemathesis**: `schemathesis run URL/docs.json --checks not_a_server_error,response_schema_conformance`
  (examples + fuzzing phases, bounded examples and time).
* **Overload**: a closed-loop ramp (1, 2, 4, ... clients) finds the saturation throughput; then requests arrive
  open-loop at 3x that rate. Shed = 429/503 answers; "past timeout" = no answer within the server timeout + 1 s;
  RSS is the whole server process tree; recovery = seconds after the load stops until a request is answered at
  normal latency. The server runs with `SENTIMENT_MAX_CONCURRENCY=32 SENTIMENT_TIMEOUT_S=10`.
* **Faults**: SIGKILL of the BentoML worker process (found under the server's process tree) with 8 clients
  sending; SIGTERM of the server with 12 slow requests in flight; `sentiment score` SIGKILLed as soon as rows
  are on disk, then rerun with `--resume` and every input id counted in the output + rejects; outputs in a
  missing directory, under a file, onto a directory, onto a full disk (`/dev/full`) and past a file-size limit.
* **Model integrity**: broken copies of the model directory (`loadtests/reliability/integrity.py`); each must raise
  `ModelLoadError` with the specific message, `sentiment serve` must exit 2 at start, and a sentinel file proves
  that no pickle payload ever ran.
"""


def write(results: dict[str, Any], md_path: Path, json_path: Path | None, command: str) -> None:
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(render(results, command), encoding="utf-8")
    if json_path is not None:
        slim = {
            k: ({kk: vv for kk, vv in v.items() if kk != "outcomes"} if isinstance(v, dict) else v)
            for k, v in results.items()
        }
        json_path.write_text(json.dumps(slim, indent=2, default=str) + "\n", encoding="utf-8")
