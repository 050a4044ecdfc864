"""deploy/grafana/sentiment.json queries only what the service exports: after some traffic (good and refused
requests), every metric the dashboard names is in a real `sentiment serve`'s /metrics, with the labels the
queries filter and group by. `namespace` is left out: Prometheus adds it when it scrapes a pod, the app does not."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DEFAULT_MODEL, REPO, running_server

DASHBOARD = REPO / "deploy" / "grafana" / "sentiment.json"
METRIC = re.compile(r"\b((?:sentiment|bentoml)_[a-z_]+)\b(\{[^}]*\})?")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
GROUP = re.compile(r"by \(([^)]*)\)\s*\(\s*rate\((\w+)")
SCRAPE_LABELS = {"namespace"}


def queries(path: Path) -> list[str]:
    dash = json.loads(path.read_text())
    return [t["expr"] for panel in dash["panels"] for t in panel["targets"]]


def wanted(exprs: list[str]) -> dict[str, set[str]]:
    """metric sample name -> label names the queries use on it"""
    out: dict[str, set[str]] = {}
    for expr in exprs:
        for name, selector in METRIC.findall(expr):
            out.setdefault(name, set()).update(MATCHER.findall(selector or ""))
        for labels, name in GROUP.findall(expr):
            out.setdefault(name, set()).update(s.strip() for s in labels.split(","))
    return {name: labels - SCRAPE_LABELS for name, labels in out.items()}


def post(url: str, body: bytes) -> int:
    req = urllib.request.Request(url + "/predict", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_every_dashboard_metric_is_exported() -> None:
    want = wanted(queries(DASHBOARD))
    assert len(want) >= 10 and any(n.startswith("bentoml_") for n in want)
    with running_server(DEFAULT_MODEL) as url:
        texts = ["I love this phone :)", "worst flight ever #fail", "meeting at 3pm", "zqxjv blorptastic"]
        assert [post(url, json.dumps({"texts": texts[: i + 1]}).encode()) for i in range(4)] == [200] * 4
        assert post(url, b'{"texts": [""]}') == 400
        assert post(url, b"not json") == 400
        with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
            exposition = r.read().decode()
    have: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            have.setdefault(sample.name, set()).update(sample.labels)
    missing = sorted(set(want) - set(have))
    assert not missing, f"the dashboard queries metrics /metrics does not have: {missing}"
    for name, labels in want.items():
        assert labels <= have[name], f"{name}: the dashboard uses labels {sorted(labels - have[name])} it lacks"


def test_the_check_sees_a_metric_the_service_lacks() -> None:
    want = wanted(['sum by (label) (rate(sentiment_predictons_total{endpoint="/predict"}[5m]))'])
    assert want == {"sentiment_predictons_total": {"endpoint", "label"}}
