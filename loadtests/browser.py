"""A real browser for the pages (service/api/pages.py): the OS's headless Chromium and its driver (Debian packages
``chromium`` and ``chromium-driver``; scripts/install-chromium.sh), driven by Selenium. Used by the browser test
(tests/loadtests/test_browser.py) and the README's screenshot (loadtests/screenshot.py).

Selenium Manager never runs (it would download a browser): the browser and the driver are given by path, and
``SE_OFFLINE``/``SE_AVOID_STATS`` are set. What the page requested comes from Chrome's own network log (the
``performance`` log: every ``Network.requestWillBeSent``), what it refused (CSP violations) from its console.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("SENTIMENT_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SENTIMENT_CHROMEDRIVER", "/usr/bin/chromedriver"))
INSTALL_HINT = "apt-get install -y chromium chromium-driver (scripts/install-chromium.sh; .ci/run does it)"


def missing() -> str | None:
    """Why no browser can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} is not installed: {INSTALL_HINT}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pyproject's dev extra)"
    return None


@contextmanager
def chromium(width: int = 1200, height: int = 800) -> Iterator[Any]:
    """A headless Chromium with a page of `width` x `height` CSS pixels, logging its network requests and its
    console; always quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--disable-background-networking",  # no update, safe-browsing or variation requests of its own
        "--disable-component-update",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:  # the page's viewport itself is width x height (the window size includes the browser's own frame)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (Chrome's network log), in order."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver: Any) -> list[str]:
    """The console's errors since the last call: a refused resource (CSP), a script error, a failed load."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def foreign(urls: list[str], origin: str) -> list[str]:
    """The URLs not of `origin` (scheme://host:port); ``data:`` URLs are inline, not requests to a host."""
    own = urlsplit(origin)
    return [
        u
        for u in urls
        if not u.startswith("data:") and (urlsplit(u).scheme, urlsplit(u).netloc) != (own.scheme, own.netloc)
    ]
