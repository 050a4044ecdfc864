"""Defaults sized from the cores: model calls per worker and intra-op threads per call, and the cgroup cap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.api.settings import MAX_AUTO_WORKERS, ServiceSettings, auto_workers
from service.core.cores import cgroup_cpu_limit, cpu_cores
from service.core.paths import REPO

SHOW = (
    "import json; from service.api.settings import ServiceSettings as S; s = S(); "
    "print(json.dumps([s.workers, s.model_threads, s.intra_op_threads]))"
)


def _settings_on(cores: set[int], **env: str) -> list[int]:
    """(workers, model_threads, intra_op_threads) of ServiceSettings in a child pinned to `cores` (real affinity);
    the device is the CPU unless `env` says otherwise (on a GPU host ``auto`` would mean one worker)."""
    env = {"SENTIMENT_DEVICE": "cpu"} | env
    out = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("SENTIMENT_")} | env,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_one_core_gives_one_worker_with_one_call_of_one_thread():
    assert _settings_on({min(os.sched_getaffinity(0))}) == [1, 1, 1]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 or cpu_cores() < 2, reason="needs 2 usable cores")
def test_two_cores_give_a_worker_per_core_and_workers_share_the_cores():
    two = set(sorted(os.sched_getaffinity(0))[:2])
    # a worker (event loop) per core, and each worker may run a call per core (connections do not spread evenly)
    assert _settings_on(two) == [2, 2, 1]
    assert _settings_on(two, SENTIMENT_WORKERS="1") == [1, 2, 1]  # one worker: two model calls of one thread
    assert _settings_on(two, SENTIMENT_WORKERS="1", SENTIMENT_MODEL_THREADS="1") == [1, 1, 2]  # one call, 2 threads
    assert _settings_on(two, SENTIMENT_THREADS="3") == [2, 2, 3]  # explicit values win
    assert _settings_on(two, SENTIMENT_DEVICE="cuda") == [1, 2, 1]  # a GPU: one worker, one batch queue


def test_auto_workers_one_per_core_capped_and_one_on_a_gpu(tmp_path: Path):
    absent, present = tmp_path / "no-nvidiactl", tmp_path / "nvidiactl"
    present.touch()
    assert [auto_workers("cpu", cores=n, nvidia=absent) for n in (1, 2, 3, 16)] == [1, 2, 3, MAX_AUTO_WORKERS]
    assert auto_workers("auto", cores=8, nvidia=absent) == MAX_AUTO_WORKERS
    assert auto_workers("auto", cores=8, nvidia=present) == 1  # an NVIDIA driver: auto picks CUDA
    assert auto_workers("cuda:1", cores=8, nvidia=absent) == 1
    assert auto_workers("cpu", cores=8, nvidia=present) == MAX_AUTO_WORKERS  # asked for the CPU on a GPU host
    assert ServiceSettings(workers=3).workers == 3  # explicit values win
    with pytest.raises(ValueError, match="workers"):
        ServiceSettings(workers=-1)


def test_explicit_values_are_kept_and_zero_means_sized():
    s = ServiceSettings(model_threads=3, threads=2)
    assert (s.model_threads, s.intra_op_threads) == (3, 2)
    assert ServiceSettings(model_threads=0).model_threads >= 1
    with pytest.raises(ValueError, match="model_threads"):
        ServiceSettings(model_threads=-1)


@pytest.mark.parametrize(
    ("content", "limit"),
    [("150000 100000\n", 1.5), ("200000 100000", 2.0), ("max 100000\n", None), ("garbage\n", None), ("0 1", None)],
)
def test_cgroup_quota_is_read_from_cpu_max(tmp_path: Path, content: str, limit: float | None):
    f = tmp_path / "cpu.max"
    f.write_text(content)
    assert cgroup_cpu_limit(f) == limit


def test_cgroup_quota_caps_the_affinity_and_a_missing_file_does_not(tmp_path: Path):
    f = tmp_path / "cpu.max"
    affinity = len(os.sched_getaffinity(0))
    assert cpu_cores(tmp_path / "absent") == affinity
    f.write_text("150000 100000")  # --cpus 1.5: one whole core
    assert cpu_cores(f) == 1
    f.write_text("50000 100000")  # half a core: still one
    assert cpu_cores(f) == 1
    f.write_text(f"{(affinity + 4) * 100000} 100000")  # a quota above the affinity changes nothing
    assert cpu_cores(f) == affinity
