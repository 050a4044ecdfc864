"""Security basics against real servers: API key, exposed endpoints, size limit before parsing, static checks."""

import tomllib
from importlib import metadata
from urllib.parse import urlsplit

import pytest

from loadtests.reliability import security
from loadtests.reliability.server import running
from service.core.paths import REPO

KEY = "test-key-" + "0123456789abcdef" * 2


@pytest.fixture(scope="module")
def keyed_server(tiny_model):
    with running(tiny_model, env={"SENTIMENT_API_KEY": KEY}) as s:
        yield s


def test_api_key_required_and_health_open(keyed_server):
    r = security.api_key_checks(keyed_server.host, keyed_server.port, KEY)
    assert r["all_wrong_denied_401"], r
    assert r["right_key_ok"], r
    assert r["health_open"], r


def test_api_key_compared_in_constant_time():
    r = security.constant_time_compare()
    assert r["ok"], r


def test_no_management_or_debug_endpoints(tiny_server):
    u = urlsplit(tiny_server)
    r = security.exposed_endpoints(tiny_server, u.hostname, u.port)
    assert r["debug_paths_exposed"] == {}
    assert r["unexpected_paths"] == []
    assert "/predict" in r["openapi_paths"]
    assert r["root_status"] == 200 and r["root_loads_third_party_scripts"] is False


def test_body_size_limit_is_enforced_before_parsing(tiny_server):
    u = urlsplit(tiny_server)
    r = security.size_limit_before_parsing(u.hostname, u.port, 1_048_576)
    assert r["announced_oversize_status"] == 413, r
    assert r["chunked_oversize_status"] == 413, r


def test_runtime_requirements_are_pinned():
    """The packages that decide what the service computes and how it serves are exact pins in pyproject.toml, and
    the environment the audit reports on is that environment (its versions are the pinned ones)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    exact = dict(d.split(";")[0].strip().split("==", 1) for d in declared if "==" in d)
    assert {"torch", "bentoml"} <= exact.keys(), declared
    audited = dict(p.split("==", 1) for p in security.runtime_requirements())
    for name, version in exact.items():
        assert audited[name] == version == metadata.version(name), (name, version)


def test_container_runs_as_non_root():
    r = security.container_user()
    assert r["ok"], r
