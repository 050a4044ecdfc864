"""The route of one ``POST /predict`` as documented (docs/architecture.md, service/api/app.py's docstring) is the
route a request takes on a real server: each step names itself in the answer's ``Server-Timing`` header, from the
step's own code (service/api/middleware.py, service/api/steps.py)."""

from __future__ import annotations

import ast
import re

import httpx

from service.core.paths import REPO

STEP_ROW = re.compile(r"^\| \d+ \| `([a-z]+)` \|", re.M)  # docs/architecture.md: | 1 | `dispatch` | ... |
STEP_ITEM = re.compile(r"^\d+\. ``([a-z]+)``:", re.M)  # app.py's docstring: 1. ``dispatch``: ...


def documented_route() -> list[str]:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The route of one request", 1)[1].split("\n## ", 1)[0]
    return STEP_ROW.findall(section)


def app_docstring_route() -> list[str]:
    doc = ast.get_docstring(ast.parse((REPO / "service" / "api" / "app.py").read_text(encoding="utf-8")))
    return STEP_ITEM.findall(doc or "")


def server_timing(r: httpx.Response) -> list[tuple[str, float]]:
    out = []
    for entry in r.headers["server-timing"].split(", "):
        name, dur = entry.split(";dur=")
        out.append((name, float(dur)))
    return out


def test_the_documented_route_is_the_one_a_predict_takes(tiny_server: str):
    route = documented_route()
    assert len(route) == 8 and app_docstring_route() == route  # the two places that list it agree
    r = httpx.post(f"{tiny_server}/predict", json={"texts": ["what a lovely day", "awful"]}, timeout=30)
    assert r.status_code == 200 and len(r.json()) == 2
    steps = server_timing(r)
    assert [name for name, _ in steps] == route  # in order, each once: the body is parsed once, by one handler
    assert all(ms >= 0 for _, ms in steps) and dict(steps)["model"] > 0


def test_the_v2_inference_takes_the_same_route(tiny_server: str):
    model = httpx.get(f"{tiny_server}/model", timeout=30).json()
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["what a lovely day"]}]}
    r = httpx.post(f"{tiny_server}/v2/models/{model['name']}/infer", json=body, timeout=30)
    assert r.status_code == 200
    assert [name for name, _ in server_timing(r)] == documented_route()


def test_refusals_end_the_route_without_an_answer_step(tiny_server: str):
    r = httpx.post(f"{tiny_server}/predict", json={"texts": ["ok", ""]}, timeout=30)  # refused at `parse`
    assert r.status_code == 400 and r.json()["field"] == "texts[1]" and "server-timing" not in r.headers
