"""Shared fixtures: a tiny real model trained on a slice of the shared data, and a real server on a free port.

Marker policy (docs/architecture.md, "Tests"): a test is `slow` when it trains a model, starts a server
(`sentiment serve`, BentoML, locust), a Ray cluster, a browser or a container, or takes more than ~5 s on 2 cores.
Mark such a test `@pytest.mark.slow`; a test that uses one of the `SLOW_FIXTURES` below (they train or serve) is
marked here automatically. `make test-fast` runs the rest (``-m "not slow and not docker"``): the unit tests,
one test file per module, in under a minute; `make test` runs everything.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.api.launcher import serving
from service.core.paths import DEFAULT_MODEL_DIR, REPO

DEFAULT_MODEL = DEFAULT_MODEL_DIR
TINY_TRAIN_ARGS = [
    "--split",
    "temporal",
    "--limit",
    "1500",
    "--epochs",
    "1",
    "--embed-dim",
    "32",
    "--subword-dim",
    "16",
    "--hidden-dim",
    "16",
    "--num-layers",
    "1",
    "--subword-buckets",
    "2000",
    "--int8",
    "--no-progress",
]


SLOW_FIXTURES = frozenset(
    {"tiny_model", "full_tiny_model", "final_tiny_model", "nan_model", "tiny_server", "splits_dir"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use a fixture which trains or serves are `slow` (the marker policy above)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def train_tiny(out: Path, name: str = "tiny", extra: list[str] | None = None, base: list[str] | None = None) -> Path:
    """Train + export a tiny model through the real CLI (one epoch, 1,500 tweets, ~10 s; `base` replaces the
    tiny arguments)."""
    cmd = [
        sys.executable,
        "-m",
        "training",
        "--out",
        str(out),
        "--name",
        name,
        *(TINY_TRAIN_ARGS if base is None else base),
        *(extra or []),
    ]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=300)
    return out / name


def poisoned_model(like: Path, out: Path, value: float, min_tokens: int = 1) -> Path:
    """A valid artifact (manifest, vocabulary, sha256s, vocab binding) whose TorchScript module answers `value` for
    every class of texts of at most `min_tokens` tokens, and a uniform distribution for longer ones (so the server's
    warm-up passes): NaN, an infinity or 0 make the invalid-scores cases of every path."""
    import json
    import shutil

    import torch

    from service.core.manifest import MANIFEST_FILE, MODEL_FILE, VOCAB_BINDING, VOCAB_FILE, sha256_file

    class Poisoned(torch.nn.Module):
        def __init__(self, v: float, n: int) -> None:
            super().__init__()
            self.register_buffer("value", torch.tensor(v))
            self.n = n

        @torch.jit.export
        def logits(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            uniform = torch.full((word_ids.size(0), 3), 1.0 / 3)  # (B, 3)
            return torch.where((lengths <= self.n).unsqueeze(1), self.value.expand(word_ids.size(0), 3), uniform)

        def forward(self, word_ids: torch.Tensor, sub_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            return self.logits(word_ids, sub_ids, lengths)

    out.mkdir(parents=True)
    shutil.copy(like / VOCAB_FILE, out / VOCAB_FILE)
    torch.jit.script(Poisoned(value, min_tokens)).save(
        str(out / MODEL_FILE), _extra_files={VOCAB_BINDING: sha256_file(out / VOCAB_FILE)}
    )
    manifest = json.loads((like / MANIFEST_FILE).read_text())
    manifest.update(name="poisoned", version=f"poisoned-{value}")
    files = {MODEL_FILE: sha256_file(out / MODEL_FILE), VOCAB_FILE: sha256_file(out / VOCAB_FILE)}
    for name in set(manifest["files"]) - {MODEL_FILE, VOCAB_FILE}:  # the tokenizer's word table, if any
        shutil.copy(like / name, out / name)
        files[name] = sha256_file(out / name)
    manifest["files"] = files
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    return out


@pytest.fixture(scope="session")
def nan_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Answers NaN for one-token texts."""
    return poisoned_model(tiny_model, tmp_path_factory.mktemp("nan") / "nan", float("nan"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("models"))


# every prior-knowledge option of issue 19 (lexicons, GloVe + vocabulary extension, tokenizer options, negation,
# n-gram branch, class bias) on two members: what they export must load and serve without the packages
FULL_OPTIONS = [
    "--members", "2", "--lexicons", "vader,afinn,emoji", "--vectors", "frozen", "--extend-vocab", "2000",
    "--hashtags", "true", "--elongations", "true", "--emoticons", "true", "--negation", "true",
    "--ngram-branch", "average", "--bigram-buckets", "5000", "--class-bias", "true", "--word-table", "5000",
]  # fmt: skip


@pytest.fixture(scope="session")
def full_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("models"), "full", FULL_OPTIONS)


@pytest.fixture(scope="session")
def final_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`--split final` (cross-fitting, then the fit on every tweet) at the tiny size, without the comparisons."""
    args = [a for a in TINY_TRAIN_ARGS if a not in ("--split", "temporal", "--int8")]
    return train_tiny(tmp_path_factory.mktemp("models"), "fin", ["--extend-vocab", "2000", "--no-compare"], args)


@pytest.fixture(scope="session")
def splits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("splits")
    subprocess.run(
        [sys.executable, "-m", "training", "--write-splits", str(out), "--no-progress"],
        check=True,
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    return out


@contextmanager
def running_server(
    model_dir: Path, *args: str, env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """`sentiment serve` on 127.0.0.1 and a free port; always stopped (SIGTERM, then SIGKILL) afterwards."""
    with serving(model_dir, *args, env=env, log_path=log_path) as server:
        yield server.url


@pytest.fixture(scope="session")
def tiny_server(tiny_model: Path) -> Iterator[str]:
    with running_server(tiny_model) as url:
        yield url
