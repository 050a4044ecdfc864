"""Cores from the CPU affinity and a cgroup v2 quota file (real files, this process's affinity)."""

import os

import pytest

from service.core.cores import cgroup_cpu_limit, cpu_cores, intra_op_threads


@pytest.mark.parametrize(
    ("content", "limit"),
    [("150000 100000\n", 1.5), ("max 100000\n", None), ("garbage", None), ("x 100000", None), ("0 100000", None)],
)
def test_cgroup_quota(tmp_path, content, limit):
    f = tmp_path / "cpu.max"
    f.write_text(content)
    assert cgroup_cpu_limit(f) == limit


def test_cores_are_the_affinity_capped_by_the_quota_and_at_least_one(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert cpu_cores(tmp_path / "absent") == affinity
    (tmp_path / "half").write_text("50000 100000")
    assert cpu_cores(tmp_path / "half") == 1  # 0.5 CPU rounds down to 0, then at least 1
    assert intra_op_threads(4, cores=8) == 2 and intra_op_threads(16, cores=8) == 1
