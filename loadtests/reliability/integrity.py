"""Model integrity: broken model directories built from a good one, each of which must be refused at load (and
so at `sentiment serve` start) with a specific message, without ever unpickling anything."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.core.artifact import load_artifact
from service.core.manifest import MANIFEST_FILE, MODEL_FILE, VOCAB_FILE, ModelLoadError, sha256_file
from service.core.paths import REPO

SENTINEL_NAME = "unpickled-by-the-loader"


class _Evil:
    """Unpickling this creates a sentinel file: if it ever appears, something unpickled an untrusted file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({self.sentinel!r}, 'w').write('pwned')",))


@dataclass
class BrokenModel:
    name: str
    expect: str  # regex the ModelLoadError message must match
    build: Callable[[Path, Path, Path | None], None]  # (model_dir copy, good source, other model) -> None
    needs_other: bool = False


def _manifest(d: Path) -> dict[str, Any]:
    return json.loads((d / MANIFEST_FILE).read_text())


def _write_manifest(d: Path, m: dict[str, Any]) -> None:
    (d / MANIFEST_FILE).write_text(json.dumps(m, indent=2))


def _rehash(d: Path, name: str) -> None:
    m = _manifest(d)
    m["files"][name] = sha256_file(d / name)
    _write_manifest(d, m)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _wrong_hash(d: Path, *_: Any) -> None:
    m = _manifest(d)
    m["files"][MODEL_FILE] = "f" * 64
    _write_manifest(d, m)


def _other_model_file(d: Path, _src: Path, other: Path | None) -> None:
    assert other is not None
    shutil.copy(other / MODEL_FILE, d / MODEL_FILE)
    _rehash(d, MODEL_FILE)  # the manifest hash is swapped in too: only a model/vocab binding can catch it


def _other_vocab_file(d: Path, _src: Path, other: Path | None) -> None:
    assert other is not None
    shutil.copy(other / VOCAB_FILE, d / VOCAB_FILE)
    _rehash(d, VOCAB_FILE)


def _pickle(d: Path, *_: Any) -> None:
    (d / MODEL_FILE).write_bytes(pickle.dumps(_Evil(d.parent / SENTINEL_NAME)))
    _rehash(d, MODEL_FILE)


def _fake_torchscript(d: Path, *_: Any) -> None:
    """A zip laid out like a TorchScript archive whose pickles carry a payload."""
    evil = pickle.dumps(_Evil(d.parent / SENTINEL_NAME), protocol=2)
    with zipfile.ZipFile(d / MODEL_FILE, "w") as z:
        z.writestr("model/version", "3\n")
        z.writestr("model/code/__torch__.py", "")
        z.writestr("model/data.pkl", evil)
        z.writestr("model/constants.pkl", evil)
    _rehash(d, MODEL_FILE)


def _symlink_outside(d: Path, src: Path, _o: Path | None) -> None:
    outside = d.parent / "outside-model.pt"
    shutil.copy(src / MODEL_FILE, outside)
    (d / MODEL_FILE).unlink()
    (d / MODEL_FILE).symlink_to(outside)


def _manifest_path_escape(d: Path, src: Path, _o: Path | None) -> None:
    outside = d.parent / "outside.bin"
    outside.write_bytes(b"data outside the model directory")
    m = _manifest(d)
    m["files"]["../outside.bin"] = sha256_file(outside)
    _write_manifest(d, m)


def _manifest_absolute_path(d: Path, *_: Any) -> None:
    target = Path(sys.executable).resolve()
    m = _manifest(d)
    m["files"][str(target)] = sha256_file(target)
    _write_manifest(d, m)


def _truncated(d: Path, *_: Any) -> None:
    p = d / MODEL_FILE
    p.write_bytes(p.read_bytes()[:1000])
    _rehash(d, MODEL_FILE)


def _garbage_manifest(d: Path, *_: Any) -> None:
    (d / MANIFEST_FILE).write_bytes(b"\x80\x04not json")


CASES: list[BrokenModel] = [
    BrokenModel("flipped byte in model.pt", r"sha256 mismatch", lambda d, *_: _flip(d / MODEL_FILE)),
    BrokenModel("flipped byte in vocab.json", r"sha256 mismatch", lambda d, *_: _flip(d / VOCAB_FILE)),
    BrokenModel("manifest with a wrong hash", r"sha256 mismatch", _wrong_hash),
    BrokenModel(
        "model.pt of another model (hash swapped in)",
        r"exported with another vocabulary",
        _other_model_file,
        needs_other=True,
    ),
    BrokenModel(
        "vocab.json of another model (hash swapped in)",
        r"exported with another vocabulary",
        _other_vocab_file,
        needs_other=True,
    ),
    BrokenModel("pickle pretending to be model.pt (hash matches)", r"not a TorchScript archive", _pickle),
    BrokenModel(
        "TorchScript-shaped zip with pickle payload",
        r"not a loadable TorchScript model|not a TorchScript",
        _fake_torchscript,
    ),
    BrokenModel(
        "truncated model.pt (hash matches)", r"not a TorchScript archive|not a loadable TorchScript model", _truncated
    ),
    BrokenModel("model.pt symlinked outside the directory", r"outside the model directory", _symlink_outside),
    BrokenModel("manifest lists ../outside.bin", r"outside the model directory", _manifest_path_escape),
    BrokenModel("manifest lists an absolute path", r"outside the model directory", _manifest_absolute_path),
    BrokenModel("manifest is not JSON", r"not a valid manifest", _garbage_manifest),
]


def build(case: BrokenModel, good: Path, workdir: Path, other: Path | None = None) -> Path:
    base = workdir / re.sub(r"\W+", "-", case.name).strip("-")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    d = base / "model"
    shutil.copytree(good, d)
    case.build(d, good, other)
    return d


def check_load(case: BrokenModel, model_dir: Path) -> dict[str, Any]:
    """Load in-process: must raise ModelLoadError matching `case.expect`; nothing may be unpickled."""
    sentinel = model_dir.parent / SENTINEL_NAME
    try:
        load_artifact(model_dir, "cpu")
        message, refused = "loaded without error", False
    except ModelLoadError as e:
        message, refused = str(e), True
    except Exception as e:  # anything else is not a clear refusal
        message, refused = f"{type(e).__name__}: {e}", False
    return {
        "case": case.name,
        "refused": refused,
        "message_matches": refused and re.search(case.expect, message) is not None,
        "unpickled": sentinel.exists(),
        "message": message.replace(str(model_dir.parent), "<dir>")[:300],
    }


def serve_refuses(model_dir: Path, timeout: float = 120.0) -> dict[str, Any]:
    """`sentiment serve --model DIR` must exit 2 with the error at start, before any server runs."""
    p = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--model", str(model_dir), "--port", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    return {"exit_code": p.returncode, "message": last[:300], "traceback": "Traceback" in p.stderr}


def run_all(good: Path, workdir: Path, other: Path | None = None, serve_check: bool = True) -> dict[str, Any]:
    results = []
    for case in CASES:
        if case.needs_other and other is None:
            results.append({"case": case.name, "skipped": "no second model given (--other-model)"})
            continue
        d = build(case, good, workdir, other)
        results.append(check_load(case, d))
    serve = serve_refuses(build(CASES[0], good, workdir)) if serve_check else None
    checked = [r for r in results if "skipped" not in r]
    return {
        "cases": len(checked),
        "refused": sum(1 for r in checked if r["refused"]),
        "clear_message": sum(1 for r in checked if r["message_matches"]),
        "unpickled": sum(1 for r in checked if r["unpickled"]),
        "results": results,
        "serve_start": serve,
        "pickle_loads_in_service": unsafe_loads(),
    }


_UNSAFE = re.compile(
    r"\b(pickle\.loads?|torch\.load|joblib\.load|dill\.loads?|cloudpickle\.loads?|allow_pickle\s*=\s*True)\b"
)


def unsafe_loads(root: Path = REPO / "service") -> list[str]:
    """Lines in service/ that could unpickle a file (the reliability tools, which only *write* pickles, excepted)."""
    hits = []
    for p in sorted(root.rglob("*.py")):
        if "reliability" in p.parts:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if _UNSAFE.search(line.split("#")[0]):
                hits.append(f"{p.relative_to(REPO)}:{i}: {line.strip()}")
    return hits
