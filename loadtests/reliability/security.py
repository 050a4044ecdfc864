"""Security basics: API key (and open health endpoints), no management/debug endpoints, the body-size limit
applied before the body is read, the API-key comparison in constant time, a dependency audit, a non-root
container user."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from loadtests.reliability.badinput_cases import JSON, VALID
from loadtests.reliability.rawhttp import build_request, request, send
from service.api.openapi import ERRORS
from service.api.openapi_v2 import v2_paths
from service.core.paths import REPO

HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
API_PATHS = frozenset({"/predict", "/explain", "/model"})
# the Open Inference Protocol routes (service/api/v2.py), as the served OpenAPI document lists them
V2_PATHS = frozenset(v2_paths(None, ERRORS))
ALLOWED_PATHS = API_PATHS | set(HEALTH_PATHS) | {"/metrics"} | V2_PATHS
DEBUG_PATHS = (
    "/debug",
    "/debug/pprof",
    "/admin",
    "/shutdown",
    "/reload",
    "/config",
    "/env",
    "/.env",
    "/__debug__",
    "/console",
    "/server-status",
    "/_internal",
    "/api/admin",
    "/v1/models/reload",
    "/metrics/../admin",
)


def api_key_checks(host: str, port: int, key: str) -> dict[str, Any]:
    """Statuses for /predict with no, wrong and right credentials, and for the health endpoints without any."""

    def post(headers: dict[str, str]) -> int | None:
        return request(host, port, "POST", "/predict", VALID, {**JSON, **headers}, timeout=30).status

    result = {
        "no_header": post({}),
        "wrong_key": post({"Authorization": "Bearer " + key[:-1] + ("x" if key[-1] != "x" else "y")}),
        "key_prefix_only": post({"Authorization": "Bearer " + key[: len(key) // 2]}),
        "wrong_scheme": post({"Authorization": "Basic " + key}),
        "empty_bearer": post({"Authorization": "Bearer "}),
        "right_key": post({"Authorization": "Bearer " + key}),
        "health_without_key": {p: request(host, port, "GET", p, timeout=10).status for p in HEALTH_PATHS},
    }
    denied = [result[k] for k in ("no_header", "wrong_key", "key_prefix_only", "wrong_scheme", "empty_bearer")]
    result["all_wrong_denied_401"] = all(s == 401 for s in denied)
    result["right_key_ok"] = result["right_key"] == 200
    result["health_open"] = all(s == 200 for s in result["health_without_key"].values())
    return result


def constant_time_compare() -> dict[str, Any]:
    """Static check of service/: the API key is compared with hmac/secrets.compare_digest, never with ==."""
    uses, plain = [], []
    for p in sorted((REPO / "service").rglob("*.py")):
        if "reliability" in p.parts:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            where = f"{p.relative_to(REPO)}:{i}"
            if "compare_digest" in code:
                uses.append(where)
            if re.search(r"\b(api_key|token|secret)\b\s*[!=]=|[!=]=\s*(self\.)?(api_key|token|secret)\b", code, re.I):
                plain.append(f"{where}: {code.strip()}")
    return {"compare_digest_at": uses, "plain_comparisons": plain, "ok": bool(uses) and not plain}


def exposed_endpoints(base_url: str, host: str, port: int) -> dict[str, Any]:
    """The OpenAPI paths against an allow-list, and known management/debug paths probed (must be 404/405)."""
    with urllib.request.urlopen(base_url + "/docs.json", timeout=10) as r:
        paths = sorted(json.load(r)["paths"])
    probes = {}
    for p in DEBUG_PATHS:
        probes[p] = {
            m: request(host, port, m, p, b"{}" if m == "POST" else None, JSON, timeout=10).status
            for m in ("GET", "POST")
        }
    exposed = {p: s for p, s in probes.items() if any(v is not None and v < 400 for v in s.values())}
    root = request(host, port, "GET", "/", timeout=10)
    docs = request(host, port, "GET", "/docs", timeout=10)  # the playground at /, the API docs (service/api/pages.py)
    return {
        "openapi_paths": paths,
        "unexpected_paths": [p for p in paths if p not in ALLOWED_PATHS],
        "debug_paths_probed": len(DEBUG_PATHS),
        "debug_paths_exposed": exposed,
        "root_status": root.status,
        "root_loads_third_party_scripts": any(
            re.search(rb"googletagmanager|google-analytics|<(script|img|iframe)[^>]+src=\"(https?:)?//", page.body)
            or re.search(rb"<link[^>]+href=\"(https?:)?//", page.body)
            for page in (root, docs)
        ),
        "ok": not exposed and not [p for p in paths if p not in ALLOWED_PATHS],
    }


def size_limit_before_parsing(host: str, port: int, limit: int, wait_s: float = 5.0) -> dict[str, Any]:
    """Announce a body 64x over the limit and send none of it: a server that checks the size before reading
    answers 413 at once; one that waits for the body answers nothing within `wait_s`. Then a chunked body over
    the limit, which has no length to check up front."""
    hostport = f"{host}:{port}"
    announced = send(
        host, port, build_request("POST", "/predict", hostport, None, JSON, content_length=limit * 64), timeout=wait_s
    )
    body = b'{"texts": ["' + b"a" * (limit + 1024) + b'"]}'
    chunked = send(host, port, build_request("POST", "/predict", hostport, body, JSON, chunked=True), timeout=30)
    return {
        "limit_bytes": limit,
        "announced_oversize_status": announced.status,
        "announced_oversize_seconds": round(announced.seconds, 3),
        "chunked_oversize_status": chunked.status,
        "ok": announced.status == 413 and chunked.status == 413,
    }


# ---------------------------------------------------------------------------------------------------------------
# dependency audit


def runtime_requirements() -> list[str]:
    """The serving runtime dependencies of pyproject.toml pinned to the installed versions."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = []
    for d in deps:
        name = re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(d)
    return pins


def dependency_audit(full: bool = False, timeout: float = 300.0) -> dict[str, Any]:
    """pip-audit of the runtime dependencies (or, with `full`, of the whole environment) against PyPI's advisory
    data. When pip-audit is missing or cannot reach its service, that is recorded with the pinned versions."""
    pins = runtime_requirements()
    exe = Path(sys.executable).parent / "pip-audit"
    result: dict[str, Any] = {
        "scope": "whole environment" if full else "runtime dependencies (pinned, no deps)",
        "packages": pins,
    }
    if not exe.exists():
        return {**result, "ran": False, "error": "pip-audit is not installed (pip install -e '.[dev]')"}
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(pins) + "\n")
        cmd = [str(exe), "-f", "json", "--progress-spinner", "off"]
        cmd += ["--local"] if full else ["-r", str(req), "--no-deps", "--disable-pip"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        return {**result, "ran": False, "exit_code": p.returncode, "error": (p.stderr or p.stdout).strip()[-600:]}
    deps = report.get("dependencies", report if isinstance(report, list) else [])
    vulns = [
        {"package": d["name"], "version": d.get("version"), "id": v["id"], "fix_versions": v.get("fix_versions", [])}
        for d in deps
        for v in d.get("vulns", [])
    ]
    skipped = {d["name"]: d["skip_reason"] for d in deps if d.get("skip_reason")}
    audited = len(deps) - len(skipped)
    out = {
        **result,
        "ran": True,
        "exit_code": p.returncode,
        "audited": audited,
        "skipped": skipped,
        "vulnerabilities": vulns,
    }
    if deps and not audited:  # pip-audit exits 0 and says "No known vulnerabilities found" in this case
        out["error"] = (
            "no package could be audited: the vulnerability service was not reachable from here "
            "(PyPI's JSON API answered 'not found'); this is NOT evidence of no vulnerabilities"
        )
    return out


def container_user(root: Path = REPO) -> dict[str, Any]:
    """Every Dockerfile in the repository ends up on a non-root USER."""
    files = sorted(p for p in root.rglob("*Dockerfile*") if ".venv" not in p.parts and p.is_file())
    out = {}
    for f in files:
        users = re.findall(r"^\s*USER\s+(\S+)", f.read_text(), re.M | re.I)
        last = users[-1] if users else None
        out[str(f.relative_to(root))] = {
            "user": last,
            "non_root": last is not None and last.split(":")[0] not in ("root", "0"),
        }
    return {"dockerfiles": out, "ok": bool(out) and all(v["non_root"] for v in out.values())}
