"""The playground and the API docs page in a real browser (the OS's headless Chromium, driven by Selenium) against a
real `sentiment serve`: type tweets, press the button, read the rendered labels, scores and token colours against
the API's own answers; enter an API key; see the API's errors; and check from Chrome's network log and console that
neither page requests anything from another host nor trips its Content-Security-Policy.

Skipped, loudly, where Chromium or its driver is not installed (.ci/run installs both)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadtests import browser
from tests.conftest import running_server

pytestmark = pytest.mark.slow

KEY = "playground-test-key"
SUPPORTS, AGAINST = (29, 78, 216), (234, 88, 12)  # playground.js: the colours of a token for / against the label
TEXTS = ["I love this phone, best purchase ever :) #happy", "Worst customer service I have ever had, never again."]


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = browser.missing()
    if reason is not None:
        pytest.skip(f"NO REAL BROWSER: the playground's browser test did NOT run: {reason}")
    with browser.chromium() as d:
        yield d


@pytest.fixture(scope="module")
def keyed_server(tiny_model: Path, driver: Any) -> Iterator[str]:
    with running_server(tiny_model, "--workers", "1", env={"SENTIMENT_API_KEY": KEY}) as url:
        yield url


def wait(d: Any, condition: Any, timeout: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout).until(condition)


def by_id(d: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return d.find_element(By.ID, element_id)


def css(d: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return d.find_elements(By.CSS_SELECTOR, selector)


def rgba(value: str) -> tuple[tuple[int, int, int], float]:
    """'rgba(29, 78, 216, 0.5)' or 'rgb(...)' -> ((29, 78, 216), 0.5)."""
    r, g, b, *a = (float(x) for x in re.findall(r"[\d.]+", value))
    return (int(r), int(g), int(b)), a[0] if a else 1.0


def check_requests(d: Any, origin: str, must_include: set[str], refused: tuple[tuple[str, int], ...] = ()) -> None:
    """Everything the page requested came from `origin` (and the requests the test relies on were seen: the log is
    not empty by accident), and the console holds no error (a CSP violation is one) but the API's refusals the test
    caused on purpose (`refused`: (path, status), which Chrome logs as failed loads)."""
    urls = browser.requested_urls(d)
    assert browser.foreign(urls, origin) == []
    assert must_include <= {u.removeprefix(origin) for u in urls}, urls
    expected = {
        f"{origin}{path} - Failed to load resource: the server responded with a status of {status}"
        for path, status in refused
    }
    assert [e for e in browser.console_errors(d) if e.split(" (")[0] not in expected] == []


def test_playground_classifies_and_colours_each_token(driver: Any, tiny_server: str, tiny_model: Path):
    from selenium.webdriver.common.keys import Keys

    d = driver
    d.get(tiny_server + "/")
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    wait(d, lambda d: css(d, "#model-name"))
    assert by_id(d, "model-name").text == manifest["name"]
    assert by_id(d, "model-version").text == manifest["version"]
    rows = {r.text.rsplit(" ", 2)[0]: r.text.split()[-2:] for r in css(d, "#model-metrics tbody tr")}
    test, validation = manifest["metrics"]["test"], manifest["metrics"]["validation"]
    assert rows["AvgRec"] == [f"{test['avg_recall']:.3f}", f"{validation['avg_recall']:.3f}"]
    assert rows["F1 (pos/neg)"] == [f"{test['f1_pn']:.3f}", f"{validation['f1_pn']:.3f}"]
    assert not by_id(d, "key-row").is_displayed()  # this server needs no key

    box = by_id(d, "texts")
    box.send_keys(TEXTS[0], Keys.ENTER, Keys.ENTER, TEXTS[1])  # the empty line between is skipped
    by_id(d, "classify").click()
    wait(d, lambda d: len(css(d, ".result")) == 2 and all(css(li, ".token") for li in css(d, ".result")))

    predictions = httpx.post(tiny_server + "/predict", json={"texts": TEXTS}, timeout=30).json()
    for li, text, p in zip(css(d, ".result"), TEXTS, predictions, strict=True):
        assert css(li, ".text")[0].text == text
        label = css(li, ".label")[0]
        assert label.text == p["label"].upper()  # shown upper-case by the stylesheet
        assert p["label"] in label.get_attribute("class").split()
        shown = [v.text for v in css(li, ".scores .value")]
        assert shown == [f"{100 * p['scores'][c]:.1f}%" for c in ("negative", "neutral", "positive")]
        widths = [float(b.get_attribute("aria-valuenow")) for b in css(li, ".scores .bar")]
        assert widths == [p["scores"][c] for c in ("negative", "neutral", "positive")]

        explanation = httpx.post(tiny_server + "/explain", json={"text": text}, timeout=30).json()
        tokens = css(li, ".token")
        assert [t.text for t in tokens] == [t["token"] for t in explanation["tokens"]]
        scale = max(abs(t["attribution"]) for t in explanation["tokens"])
        colours = [rgba(t.value_of_css_property("background-color")) for t in tokens]
        for (rgb, alpha), t in zip(colours, explanation["tokens"], strict=True):
            assert rgb == (SUPPORTS if t["attribution"] >= 0 else AGAINST), t
            assert alpha == pytest.approx(0.75 * abs(t["attribution"]) / scale, abs=0.005), t
        strongest = max(range(len(tokens)), key=lambda i: abs(explanation["tokens"][i]["attribution"]))
        assert colours[strongest][1] == pytest.approx(0.75, abs=0.005)  # the strongest token: the deepest colour
        summary = css(li, ".summary")[0].get_attribute("textContent")  # what a screen reader gets instead
        top = explanation["tokens"][strongest]
        assert summary.startswith(f"Words for {p['label']}: ")
        assert f" {top['token']}" in summary.split(". ")[0 if top["attribution"] > 0 else 1]

    by_id(d, "clear").click()
    assert css(d, ".result") == []
    by_id(d, "texts").send_keys(TEXTS[1], Keys.CONTROL, Keys.ENTER)  # the keyboard shortcut classifies too
    wait(d, lambda d: len(css(d, ".result")) == 1)
    assert css(d, ".result .label")[0].text == predictions[1]["label"].upper()
    check_requests(d, tiny_server, {"/", "/static/playground.js", "/static/playground.css", "/model", "/predict"})


def test_playground_shows_the_apis_errors_as_worded(driver: Any, tiny_server: str):
    d = driver
    d.get(tiny_server + "/")
    wait(d, lambda d: css(d, "#model-name"))
    too_long = "a" * 2001
    d.execute_script("arguments[0].value = arguments[1]", by_id(d, "texts"), too_long)
    by_id(d, "classify").click()
    wait(d, lambda d: by_id(d, "error").is_displayed())
    expected = httpx.post(tiny_server + "/predict", json={"texts": [too_long]}, timeout=30).json()
    assert expected["error"] == "texts[0]: text has 2001 characters, the limit is 2000"  # the API's words...
    message, meta = by_id(d, "error").text.split("\n")
    assert message == expected["error"]  # ... shown as they are
    assert meta.startswith("HTTP 400 · field texts[0] · request ")
    assert css(d, ".result") == []
    check_requests(d, tiny_server, {"/predict"}, refused=(("/predict", 400),))


def test_playground_asks_for_the_api_key_the_server_requires(driver: Any, keyed_server: str):
    d = driver
    d.get(keyed_server + "/")
    wait(d, lambda d: by_id(d, "key-row").is_displayed())  # GET /model answered 401
    unauthorized = httpx.get(keyed_server + "/model").json()["error"]
    assert by_id(d, "model-body").text == f"Model details unavailable: {unauthorized}"
    key = by_id(d, "api-key")
    assert key.get_attribute("type") == "password" and d.switch_to.active_element == key

    key.send_keys("wrong-key")
    by_id(d, "texts").send_keys(TEXTS[0])
    by_id(d, "classify").click()
    wait(d, lambda d: by_id(d, "error").is_displayed())
    assert by_id(d, "error").text.split("\n")[0] == unauthorized  # "missing or invalid API key: send ..."

    key.clear()
    key.send_keys(KEY)
    by_id(d, "classify").click()
    wait(d, lambda d: len(css(d, ".result .token")) > 0 and css(d, "#model-name"))
    assert not by_id(d, "error").is_displayed()
    assert by_id(d, "model-name").text == "tiny"
    check_requests(d, keyed_server, {"/model", "/predict", "/explain"}, refused=(("/model", 401), ("/predict", 401)))


def test_api_docs_page_renders_swagger_ui_from_this_server(driver: Any, tiny_server: str):
    d = driver
    d.get(tiny_server + "/docs")
    wait(d, lambda d: len(css(d, ".opblock")) >= 3)
    paths = {e.text for e in css(d, ".opblock-summary-path")}
    assert {"/predict", "/explain", "/model"} <= paths
    assert "Try it in the playground" in css(d, ".info .description")[0].text  # ours, not BentoML's badges
    check_requests(
        d,
        tiny_server,
        {"/docs", "/docs.json", "/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css"},
    )
